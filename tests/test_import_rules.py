"""The package's shape, read from its source: size, import graph, privacy, deferred imports.

Each rule is one test and names every offender:

- no module of ``reconciler/`` is over 400 lines;
- no import cycle among reconciler modules (module-level imports; ``from reconciler.x import y``
  where ``y`` is a submodule imports that submodule; ``if TYPE_CHECKING:`` blocks do not count);
- no private name (``_x``, not a dunder) of one reconciler module is used from another module,
  in ``reconciler/`` and in ``tests/`` alike (tests go through public functions);
- imports sit at the top of files: a function-level import is allowed only in ``reconciler/cli/``
  as ``importlib.import_module`` (the CLI loads a command's module when it runs) and on a line
  saying ``# deferred: <reason>`` (a heavy optional import), and that deferred list stays short;
- at most 12 modules directly under ``reconciler/`` (the rest live in stage subpackages).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reconciler"
TESTS = ROOT / "tests"

MAX_LINES = 400
MAX_DEFERRED = 8
MAX_TOP_LEVEL_MODULES = 12
DEFERRED = re.compile(r"#\s*deferred:\s*\S")


@dataclass
class Module:
    name: str                       # dotted: reconciler.cli.plan
    path: Path
    is_package: bool
    source: str
    tree: ast.Module = field(repr=False)

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


@cache
def package_modules() -> dict[str, Module]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name, is_package = _module_name(path)
        source = path.read_text(encoding="utf-8")
        modules[name] = Module(name, path, is_package, source, ast.parse(source, filename=str(path)))
    return modules


@cache
def suite_modules() -> list[Module]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        found.append(Module(f"tests.{path.stem}", path, False, source, ast.parse(source, filename=str(path))))
    return found


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def resolve(module: Module, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_level_imports(tree: ast.Module):
    """Import nodes executed when the module is imported: not in functions/classes' bodies nor TYPE_CHECKING."""
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        elif isinstance(node, ast.If) and is_type_checking(node):
            stack.extend(node.orelse)
        elif isinstance(node, ast.stmt):
            stack.extend(ast.iter_child_nodes(node))


def imported_modules(module: Module, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The reconciler modules an import statement loads (submodules named in ``from x import y`` included)."""
    known = package_modules()
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in known]
    target = resolve(module, node)
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        if sub in known:
            found.append(sub)
        elif target in known:
            found.append(target)
    return found


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:           # iterative Tarjan: deep graphs never hit the recursion limit
        nonlocal counter
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return cycles


def private_uses(module: Module) -> list[str]:
    """``from reconciler.m import _x``, ``m._x`` / ``reconciler.m._x`` and ``setattr(m, "_x", …)`` in ``module``."""
    known = package_modules()
    aliases: dict[str, str] = {}           # local name -> reconciler module it is bound to
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    aliases[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            target = resolve(module, node)
            if target != "reconciler" and not target.startswith("reconciler."):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    aliases[alias.asname or alias.name] = sub
                if is_private(alias.name) and target != module.name:
                    found.append(f"{module.rel}:{node.lineno}: from {target} import {alias.name}")

    def dotted(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id)
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            if base is not None and f"{base}.{node.attr}" in known:
                return f"{base}.{node.attr}"
        return None

    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = dotted(node.value)
            if owner is not None and owner != module.name:
                found.append(f"{module.rel}:{node.lineno}: {owner}.{node.attr}")
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            literal = node.args[1]
            if (name in ("setattr", "getattr", "delattr", "hasattr") and isinstance(literal, ast.Constant)
                    and isinstance(literal.value, str) and is_private(literal.value)):
                owner = dotted(node.args[0])
                if owner is not None and owner != module.name:
                    found.append(f"{module.rel}:{node.lineno}: {name}({owner}, {literal.value!r})")
    return found


def function_level_imports(module: Module) -> tuple[list[str], list[str]]:
    """(offenders, deferred): imports inside a function body, split by their ``# deferred:`` comment."""
    lines = module.source.splitlines()
    offenders, deferred = [], []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            is_import = isinstance(child, (ast.Import, ast.ImportFrom)) or (
                isinstance(child, ast.Call) and _names_import_module(child.func))
            if in_function and is_import:
                text = " ".join(lines[child.lineno - 1: child.end_lineno]).strip()
                where = f"{module.rel}:{child.lineno}: {lines[child.lineno - 1].strip()}"
                if DEFERRED.search(text):
                    deferred.append(where)
                elif not (module.name.startswith("reconciler.cli") and isinstance(child, ast.Call)):
                    offenders.append(where)     # the CLI's importlib.import_module of a command module is fine
            visit(child, nested)

    visit(module.tree, False)
    return offenders, deferred


def _names_import_module(func: ast.AST) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "import_module") or (
        isinstance(func, ast.Name) and func.id in ("__import__", "import_module"))


def _listing(title: str, offenders: list[str]) -> str:
    return f"{title} ({len(offenders)}):\n  " + "\n  ".join(offenders)


# --- the rules -----------------------------------------------------------------------------------------------


def test_no_module_is_over_400_lines():
    too_long = [f"{m.rel}: {len(m.source.splitlines())} lines" for m in package_modules().values()
                if len(m.source.splitlines()) > MAX_LINES]
    assert not too_long, _listing(f"modules over {MAX_LINES} lines: split them by responsibility", too_long)


def test_no_import_cycle_among_reconciler_modules():
    modules = package_modules()
    graph = {name: {target for node in module_level_imports(m.tree) for target in imported_modules(m, node)
                    if target != name}
             for name, m in modules.items()}
    cycles = [" <-> ".join(c) for c in find_cycles(graph)]
    assert not cycles, _listing("import cycles (module-level imports): the flow runs one way", cycles)


def test_no_private_name_is_used_across_reconciler_modules():
    found = [use for m in package_modules().values() for use in private_uses(m)]
    assert not found, _listing("private names of another module used in reconciler/: make them public "
                               "or move the code", found)


def test_tests_use_no_private_name_of_the_package():
    found = [use for m in suite_modules() for use in private_uses(m)]
    assert not found, _listing("private names of reconciler modules used in tests/: test through public "
                               "functions", found)


def test_imports_are_at_the_top_of_files():
    found = [where for m in package_modules().values() for where in function_level_imports(m)[0]]
    assert not found, _listing("function-level imports: move them to the top, or mark a heavy optional one "
                               "`# deferred: <reason>` (the CLI alone may importlib.import_module a command)", found)


def test_the_deferred_imports_are_a_short_named_list():
    deferred = [where for m in package_modules().values() for where in function_level_imports(m)[1]]
    print(_listing("deferred imports", deferred))
    assert len(deferred) <= MAX_DEFERRED, _listing(
        f"more than {MAX_DEFERRED} deferred imports: only heavy optional ones may wait", deferred)


def test_at_most_12_modules_directly_under_the_package():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, _listing(
        f"more than {MAX_TOP_LEVEL_MODULES} modules directly under reconciler/: move them into a stage "
        "subpackage", top)


# --- the checker checks itself: each rule catches what it is meant to ----------------------------------------


def _fake(name: str, source: str, is_package: bool = False) -> Module:
    path = ROOT / (name.replace(".", "/") + ("/__init__.py" if is_package else ".py"))
    return Module(name, path, is_package, source, ast.parse(source))


def test_the_cycle_finder_finds_cycles_and_only_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set(), "c": {"b"}}) == []


def test_module_level_imports_skip_functions_and_type_checking():
    tree = ast.parse("import a\nif TYPE_CHECKING:\n    import b\ntry:\n    import c\nexcept ImportError:\n"
                     "    pass\ndef f():\n    import d\n")
    assert sorted(n.names[0].name for n in module_level_imports(tree)) == ["a", "c"]


def test_private_uses_catch_from_imports_attributes_and_setattr():
    module = _fake("tests.test_x", "from reconciler.cli import _x, main\nimport reconciler.cli as cli\n"
                   "from reconciler import settings\ncli._y\nsettings._Z\nsettings.__name__\n"
                   "monkeypatch.setattr(settings, '_w', 1)\n")
    found = [use.split(": ", 1)[1] for use in private_uses(module)]
    assert found == ["from reconciler.cli import _x", "reconciler.cli._y", "reconciler.settings._Z",
                     "setattr(reconciler.settings, '_w')"]


def test_function_level_imports_honour_cli_and_deferred():
    source = ("def f():\n    import json\n    import deepdiff  # deferred: heavy, only on a difference\n"
              "    return importlib.import_module('reconciler.cli.plan')\n")
    offenders, deferred = function_level_imports(_fake("reconciler.report.x", source))
    assert [o.split(": ", 1)[1] for o in offenders] == [
        "import json", "return importlib.import_module('reconciler.cli.plan')"]
    assert len(deferred) == 1
    offenders, deferred = function_level_imports(_fake("reconciler.cli.x", source))
    assert [o.split(": ", 1)[1] for o in offenders] == ["import json"]

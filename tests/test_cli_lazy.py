"""The command line loads only what the command runs (start-up budget, issue 19).

``reconciler --version`` and the root ``--help`` import no command module;
``reconciler validate`` imports neither the other commands, nor the plan model,
the HTTP stack or rich. The root ``--help`` lists the commands from static
summaries: each must say what the command's own help says.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
import typer.core
from rich.console import Console
from rich.text import Text

from reconciler import cli
from reconciler.model import Finding, Severity
from reconciler.report import findings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = """
import sys
from reconciler.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("EXIT", code)
print("LOADED", " ".join(sorted(m for m in sys.modules if m.startswith(("reconciler.", "rich", "httpx", "aiohttp",
                                                                        "fastapi", "uvicorn")))))
"""


def _loaded(*args: str) -> tuple[int, set[str]]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("RECONCILER_API_URL", None)
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)
    lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] if " " in line else "" for line in proc.stdout.splitlines()
             if line.startswith(("EXIT", "LOADED"))}
    assert "EXIT" in lines, proc.stdout + proc.stderr
    return int(lines["EXIT"]), set(lines["LOADED"].split())


def _command_modules(loaded: set[str]) -> set[str]:
    return {m for m in loaded if m.startswith("reconciler.cli.")}


def test_version_imports_no_command():
    code, loaded = _loaded("--version")
    assert code == 0
    assert _command_modules(loaded) == set()
    assert loaded <= {"reconciler.cli", "reconciler.errors", "reconciler.interruption"}, sorted(loaded)   # the boundary


def test_root_help_lists_every_command_without_importing_one():
    code, loaded = _loaded("--help")
    assert code == 0
    assert _command_modules(loaded) == set()


def test_validate_imports_only_what_validate_runs():
    code, loaded = _loaded("validate", ".")
    assert code == 0
    assert _command_modules(loaded) == {"reconciler.cli.validate", "reconciler.cli.outputs", "reconciler.cli.rootdir"}
    heavy = {m for m in loaded if m.split(".")[0] in ("rich", "httpx", "aiohttp", "fastapi", "uvicorn")}
    assert heavy == set()
    assert not {m for m in loaded if m.startswith(("reconciler.api", "reconciler.emulator", "reconciler.engine",
                                                    "reconciler.report.common", "reconciler.report.formats"))}


def test_a_command_loads_its_module_for_its_own_help():
    code, loaded = _loaded("connectors", "--help")
    assert code == 0
    assert _command_modules(loaded) == {"reconciler.cli.connectors", "reconciler.cli.rootdir"}   # + its root finder


def test_a_mistyped_command_is_suggested_from_every_name():
    proc = subprocess.run([sys.executable, "-m", "reconciler", "promte"], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 1
    assert "No such command 'promte'. Did you mean 'promote'?" in proc.stderr


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_each_static_summary_says_what_the_command_says(name):
    real = cli.commands()[name]
    for limit in (30, 45, 74, 200):      # the listing shortens the summary to the terminal's width
        listed = typer.core.TyperCommand(name=name, help=cli.COMMANDS[name][1]).get_short_help_str(limit)
        assert listed == real.get_short_help_str(limit), (
            f"reconciler/cli/__init__.py COMMANDS[{name!r}] differs from the command's own help: copy the first "
            "paragraph of its help there")


def test_every_registered_command_has_a_static_entry():
    modules = {module for module, _summary in cli.COMMANDS.values()}
    registered = {name for module in modules for name in cli.load_module_commands(module)}
    assert registered == set(cli.COMMANDS)


# --- colour without rich: validate on a terminal writes what rich wrote ---------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _rich_listing(items: list[Finding], summary: str) -> str:
    """What ``print_text`` wrote when it used rich (the reference the plain SGR codes must match)."""
    buffer = io.StringIO()
    console = Console(file=buffer, highlight=False, soft_wrap=True, force_terminal=True)
    styles = {"error": "bold red", "warning": "yellow", "waived": "dim"}
    for finding in items:
        line = Text(findings.text_line(finding))
        line.highlight_words([f" {findings.label(finding)} ["], styles[findings.label(finding)])
        console.print(line)
    console.print(Text(summary, style="bold red" if any(f.blocks for f in items) else "green"))
    return buffer.getvalue()


@pytest.mark.parametrize("blocking", [True, False])
def test_coloured_findings_match_what_rich_wrote(monkeypatch, blocking):
    monkeypatch.delenv("NO_COLOR", raising=False)
    items = [Finding(code="values.invalid", message="not a string:\tsee \r the schema", severity=Severity.WARNING,
                     file="configs/a/live/values.yaml", line=4, path="greeting"),
             Finding(code="policy.x", message="waived one", severity=Severity.ERROR, file="policies/p.yaml", line=2,
                     waived="until 2030-01-01"),
             Finding(code="settings.y", message="run-wide error [twice] error [", severity=Severity.ERROR)]
    if not blocking:
        items = items[:2]
    stream = _Tty()
    findings.print_text(items, stream, summary="the summary")
    assert "\x1b[" in stream.getvalue()
    assert stream.getvalue() == _rich_listing(findings.sort_findings(items), "the summary")

"""The docs in ``docs/`` and README.md stay in step with the code.

- every command the CLI registers (introspected from the typer app) has a
  section ``## `reconciler NAME` `` in docs/cli.md, and that section names
  each of its long options;
- every command of the design's command table has a section; one that is not
  registered says **Not available yet**, and one that is registered no longer does;
- every top-level key of every JSON report is listed in its section of
  docs/json-formats.md, and every command with ``--format json`` has such a section;
- every key of a ``/status`` result and every metric the daemon registers is
  named in the docs;
- every relative link in README.md and docs/ resolves to a file inside the
  repository, and nothing points at documents users do not have.

When this fails after you add a command, an option or a JSON key, the message
says which file and which section to edit.
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from reconciler import cli
from reconciler.daemon import holds as daemon_holds, metrics as daemon_metrics, notifying, sourcing
from reconciler.daemon import status as daemon_status
from reconciler.daemon.decide import PageStatus
from reconciler.daemon.sharding import Shard
from reconciler.daemon.state import StateRecord
from reconciler.model import ClientEnv, Finding, Severity
from reconciler.planning.plan import ApplyResult, EnvPlan, Outcome, OutcomeState, Plan, Status

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLI_DOC = DOCS / "cli.md"
JSON_DOC = DOCS / "json-formats.md"
NOT_AVAILABLE = "**Not available yet.**"

#: The command table of the design (every command the product is meant to have).
DESIGN_COMMANDS = ("validate", "plan", "apply", "drift", "show", "watch", "import", "export", "promote",
                   "connectors", "policies", "github comment", "github drift-issue", "schema settings",
                   "schema policy", "emulator")


@functools.cache
def _commands() -> dict[str, Any]:
    """Every leaf command of the typer app, by its full name ("plan", "github comment")."""
    out: dict[str, Any] = {}

    def walk(commands: Any, prefix: str) -> None:
        for name, cmd in commands.items():
            if getattr(cmd, "hidden", False):
                continue
            full = f"{prefix}{name}"
            if hasattr(cmd, "commands"):          # a group (typer vendors its own click)
                walk(cmd.commands, full + " ")
            else:
                out[full] = cmd
    walk(cli.commands(), "")
    return out


def _sections(path: Path, level: str = "## ") -> dict[str, str]:
    """Heading text -> body, for headings of exactly this level."""
    out: dict[str, str] = {}
    heading, body = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(level) and not line.startswith(level + "#"):
            if heading is not None:
                out[heading] = "\n".join(body)
            heading, body = line[len(level):].strip(), []
        elif heading is not None:
            body.append(line)
    if heading is not None:
        out[heading] = "\n".join(body)
    return out


def _cli_section(name: str) -> str | None:
    return _sections(CLI_DOC).get(f"`reconciler {name}`")


def _long_options(cmd: Any) -> list[str]:
    return [opt for p in cmd.params if p.param_type_name == "option" and not getattr(p, "hidden", False)
            for opt in p.opts if opt.startswith("--") and opt != "--help"]


# ---- commands ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_registered_command_is_documented_with_its_options(name: str) -> None:
    section = _cli_section(name)
    assert section is not None, (
        f"`reconciler {name}` is registered but docs/cli.md has no section for it: add a heading "
        f"'## `reconciler {name}`' to docs/cli.md with a usage line, each option and its exit codes "
        f"(and a row in docs/exit-codes.md)")
    missing = [opt for opt in _long_options(_commands()[name]) if f"`{opt}" not in section]
    assert not missing, (f"docs/cli.md, section '## `reconciler {name}`', does not mention the option(s) "
                         f"{', '.join(missing)}: add each (as `{missing[0]} …`) to that section's option table")
    assert NOT_AVAILABLE not in section, (
        f"`reconciler {name}` is registered now: remove the line {NOT_AVAILABLE} from its section in docs/cli.md")


@pytest.mark.parametrize("name", DESIGN_COMMANDS)
def test_every_design_command_has_a_section(name: str) -> None:
    section = _cli_section(name)
    assert section is not None, f"docs/cli.md lacks the section '## `reconciler {name}`'"
    if name not in _commands():
        assert NOT_AVAILABLE in section, (
            f"`reconciler {name}` is not registered in this version: its section in docs/cli.md must say "
            f"{NOT_AVAILABLE}")


def test_every_command_is_in_the_exit_code_table() -> None:
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    missing = [n for n in _commands() if f"`{n}`" not in text and f"`{n.split()[0]}" not in text]
    assert not missing, f"docs/exit-codes.md: add a row for {', '.join(missing)} to the per-command table"


# ---- JSON reports -----------------------------------------------------------------------------

def _finding() -> Finding:
    return Finding(Severity.ERROR, "values.invalid", "bad", file="configs/a/sandbox/values.yaml", line=1)


def _plan() -> Plan:
    result = EnvPlan(agent="a", env=ClientEnv.SANDBOX, status=Status.CHANGES, variables_patch={"k": 1})
    return Plan(results=(result,), target="local", findings=(_finding(),))


def _validate_doc() -> dict:
    from reconciler.report import findings
    return findings.json_document([_finding()], command="validate")


def _plan_doc(command: str) -> dict:
    from reconciler.report import json as report_json
    return report_json.document(_plan(), command=command)


def _apply_doc() -> dict:
    from reconciler.report import json as report_json
    outcome = Outcome(agent="a", env=ClientEnv.SANDBOX, state=OutcomeState.APPLIED)
    return report_json.document(ApplyResult(plan=_plan(), outcomes=(outcome,)), command="apply")


def _plan_file_doc() -> dict:
    from reconciler.planning import planfile
    from reconciler.report import json as report_json
    from reconciler.report.common import RunInfo
    report = report_json.document(_plan(), command="plan", info=RunInfo(created_at="2026-01-01T00:00:00Z"))
    return planfile.build(_plan(), report=report, key=b"k" * 32,
                          file_hashes={"reconciler.yaml": "0" * 64}, revision=None, allow_large_change=False)


def _policies_doc() -> dict:
    from reconciler.cli import policies
    from reconciler.checks.policy import loader
    return policies.to_json(loader.load_policies(ROOT), [("acme-support", "live")], _dt.date(2026, 1, 1))


def _connectors_doc() -> dict:
    from reconciler.adoption import connectors
    listing = connectors.Listing(target="local", agents=(
        connectors.AgentConnectors(agent="a", connectors=({"connectorId": "c", "name": "n", "clientEnv": "live"},)),))
    return connectors.to_json(listing)


def _history_doc() -> dict:
    from reconciler.apply import history
    from reconciler.cli import history as history_cli
    return history_cli.to_json([history.Entry("a", "live", None, "2026-01-01T00:00:00Z", "apply", "applied",
                                              False, ("k",))])


def _watch_status_doc() -> dict:
    from reconciler.daemon.sharding import Shard
    from reconciler.daemon.status import Board
    return Board(Shard(0, 1)).document()


#: (section heading in docs/json-formats.md, sample document). Add a report here when you add one.
JSON_REPORTS = {
    "watch": ("`watch`: `GET /status`", _watch_status_doc),
    "validate": ("`validate`", _validate_doc),
    "plan": ("`plan`, `apply`, `drift`, `show`, `rollback`", lambda: _plan_doc("plan")),
    "drift": ("`plan`, `apply`, `drift`, `show`, `rollback`", lambda: _plan_doc("drift")),
    "apply": ("`plan`, `apply`, `drift`, `show`, `rollback`", _apply_doc),
    "rollback": ("`plan`, `apply`, `drift`, `show`, `rollback`", _apply_doc),
    "show": ("Saved plan file", lambda: _plan_file_doc()),
    "policies": ("`policies`", _policies_doc),
    "connectors": ("`connectors`", _connectors_doc),
    "history": ("`history`", _history_doc),
}


@pytest.mark.parametrize("report", sorted(JSON_REPORTS))
def test_every_top_level_json_key_is_documented(report: str) -> None:
    if report not in _commands():
        pytest.skip(f"`reconciler {report}` is not registered in this version")
    heading, build = JSON_REPORTS[report]
    sections = _sections(JSON_DOC)
    assert heading in sections, f"docs/json-formats.md lacks the section '## {heading}'"
    missing = [key for key in build() if f"`{key}`" not in sections[heading]]
    assert not missing, (f"docs/json-formats.md, section '## {heading}': top-level key(s) "
                         f"{', '.join(missing)} of the `{report}` JSON report are not documented; add a row "
                         f"for each to that section's key table")


def test_every_key_of_a_watch_status_result_is_documented() -> None:
    page = daemon_status.PageState(agent="a", env=ClientEnv.LIVE, sync="auto", self_heal=False,
                                   status=PageStatus.DRIFT)
    section = _sections(JSON_DOC)["`watch`: `GET /status`"]
    missing = [key for key in page.to_json() if f"`{key}`" not in section]
    assert not missing, (f"docs/json-formats.md, section '## `watch`: `GET /status`': key(s) {', '.join(missing)} "
                         "of each result are not documented; add them to the paragraph 'Each result: …'")


def _daemon_metric_names() -> list[str]:
    """The metric names the daemon exposes (counters with ``_total``), from its own registry."""
    board = daemon_status.Board(Shard(0, 1))
    metrics = daemon_metrics.Metrics(board)
    registry: CollectorRegistry = metrics.registry
    daemon_holds.Gate(registry, logging.getLogger("test"))
    notifying.Notifier(StateRecord(), registry, logging.getLogger("test"), lambda: None)
    registry.register(sourcing.SourceCollector(board))
    return sorted({f"{m.name}_total" if m.type == "counter" else m.name for m in registry.collect()})


def test_every_daemon_metric_is_documented() -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in _doc_files())
    missing = [name for name in _daemon_metric_names() if f"`{name}" not in text]
    assert not missing, (f"metric(s) {', '.join(missing)} of `reconciler watch` are not named in README.md or "
                         "docs/: add each to the daemon's list of metrics, with its labels")


def _formats(cmd: Any) -> tuple[str, ...]:
    for p in cmd.params:
        if p.param_type_name == "option" and "--format" in p.opts:
            annotation = getattr(getattr(p, "type_descriptor", None), "annotation", None)
            if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
                return tuple(str(c.value) for c in annotation)
            return tuple(str(c) for c in getattr(getattr(p, "type", None), "choices", ()))
    return ()


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_json_output_has_a_documented_format(name: str) -> None:
    if "json" not in _formats(_commands()[name]):
        return
    documented = [h for h in _sections(JSON_DOC) if f"`{name}`" in h]
    assert documented, (f"`reconciler {name} --format json` exists but docs/json-formats.md has no section "
                        f"whose heading names `{name}`: add '## `{name}`' with a table of its top-level keys "
                        "and its format_version, and a sample to JSON_REPORTS in tests/test_docs.py")
    assert name in JSON_REPORTS, (f"add a sample `{name}` JSON document to JSON_REPORTS in tests/test_docs.py so "
                                  "its keys are checked against docs/json-formats.md")


# ---- links ------------------------------------------------------------------------------------

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(\S+)", re.M)
_FORBIDDEN = ("../shared", "DESIGN.md")


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_docs_exist_and_readme_links_to_them() -> None:
    assert (DOCS / "README.md").is_file(), "docs/README.md (the index of the documentation) is missing"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/" in readme, "README.md must link to the documentation in docs/ (e.g. [docs](docs/README.md))"


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    problems = []
    for match in _LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue                                   # URLs, mailto:, in-page anchors
        line = text.count("\n", 0, match.start()) + 1
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT):
            problems.append(f"{doc.relative_to(ROOT)}:{line}: {target} points outside the repository")
        elif not path.exists():
            problems.append(f"{doc.relative_to(ROOT)}:{line}: {target} does not exist")
    assert not problems, "broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_do_not_cite_documents_users_do_not_have(doc: Path) -> None:
    problems = [f"{doc.relative_to(ROOT)}:{n}: mentions {word!r}, which is not in the repository; "
                "describe it here or link a page under docs/ instead"
                for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
                for word in _FORBIDDEN if word in line]
    assert not problems, "\n".join(problems)

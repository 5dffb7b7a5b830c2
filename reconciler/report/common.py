"""Pieces every report format shares: wording per command, masked PATCH bodies, diff lines.

Used by ``report/text.py``, ``markdown.py``, ``github.py`` and ``json.py``.
Reports compute nothing about the plan: they only choose words for values the
planner and the executor already decided (statuses, diffs, outcomes), and they
only show masked values (the planner masks diffs; :func:`shown_patch` masks the
PATCH body).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import __version__
from reconciler.model import MASK, Finding
from reconciler.planning.plan import (ApplyResult, DiffItem, DiffKind, DriftCause, EnvPlan, Outcome, OutcomeState,
                                      Plan, Status)
from reconciler.report import findings

COMMANDS = ("plan", "apply", "drift")


@dataclass(frozen=True)
class RunInfo:
    """Facts about the run a report states but does not compute (the CLI reads the clock)."""

    created_at: str | None = None
    """When the run read live state, ISO 8601 UTC (``2026-12-01T01:02:03Z``)."""
    changed_since: str | None = None
    """The ``--changed-since`` ref, when one was used."""
    tool_version: str = __version__
    """The reconciler that made the report (a saved plan keeps its own)."""
    detail: bool = False
    """``--detail``: show every key of a new schema / environment instead of a summary line."""
    repository: str | None = None
    """The repository root the run used (found like git finds ``.git``): named in the text header line only."""


#: Drift: who moved, as section titles (text and markdown group drifted pages by cause).
CAUSE_TITLES = {
    DriftCause.REPOSITORY: "changed in the repository, not yet applied (cause: repository)",
    DriftCause.OUT_OF_BAND: "changed live outside the repository, e.g. in the UI (cause: out_of_band)",
    DriftCause.UNKNOWN: "cause unknown: no git history for the files, or both sides moved (cause: unknown)",
}
#: Drift diffs read from live to the repository; this line says so.
#: Drift: the heading over pages that did not drift (or could not be compared) but have findings.
OTHER_FINDINGS_TITLE = "Other pages with findings (not drifted or not compared)"

DRIFT_LEGEND = ("Legend: ~ path: live value → repository value · + only live (e.g. added in the UI) · "
                "- missing live (only in the repository)")

#: Diff kind -> the Terraform-like marker.
MARKERS = {DiffKind.ADDED: "+", DiffKind.REMOVED: "-", DiffKind.CHANGED: "~"}


@dataclass(frozen=True)
class Wording:
    """Words that differ between a plan and a drift report."""

    title: str            # "Plan" / "Drift"
    changes: str          # status line of a changed env
    count: str            # summary noun: "3 to change" / "3 drifted"


WORDING = {
    "plan": Wording("Plan", "to change", "to change"),
    "apply": Wording("Plan", "to change", "to change"),
    "drift": Wording("Drift", "drift detected: live differs from the repository", "drifted"),
}


def check_command(command: str) -> Wording:
    if command not in WORDING:
        raise ValueError(f"unknown report command {command!r}; expected one of {', '.join(COMMANDS)}")
    return WORDING[command]


def split(value: Plan | ApplyResult) -> tuple[Plan, dict[tuple[str, str], Outcome]]:
    """The plan and, for an apply, its outcomes by (agent, env)."""
    if isinstance(value, ApplyResult):
        return value.plan, {(o.agent, o.env.value): o for o in value.outcomes}
    return value, {}


def shown_patch(result: EnvPlan) -> dict[str, Any]:
    """The PATCH body as a report may show it: sensitive values (nested too) masked."""
    if result.masked_patch is not None:
        return dict(result.masked_patch)
    return {k: (MASK if k in result.sensitive_keys else v) for k, v in result.variables_patch.items()}


def value_text(value: Any) -> str:
    """One-line JSON spelling of a (masked) value."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        return repr(value)


#: Drift reads from live's side: what the repository has and live lacks is "missing live" (``-``).
_DRIFT_MARKERS = {DiffKind.ADDED: "-", DiffKind.REMOVED: "+", DiffKind.CHANGED: "~"}
_DRIFT_SUFFIX = {DiffKind.ADDED: " (missing live)", DiffKind.REMOVED: " (only live)", DiffKind.CHANGED: ""}


def diff_line(item: DiffItem, *, drift: bool = False) -> tuple[str, str]:
    """(marker, text) of one diff item: ``~ path: old → new``; a sensitive change stays visible, hidden.

    ``drift``: read from live's side (see :data:`DRIFT_LEGEND`): ``+`` only live, ``-`` missing live.
    """
    marker = (_DRIFT_MARKERS if drift else MARKERS)[item.kind]
    suffix = _DRIFT_SUFFIX[item.kind] if drift else ""
    path = item.path or "(root)"
    if item.sensitive:
        what = {DiffKind.CHANGED: "changed", DiffKind.ADDED: "added", DiffKind.REMOVED: "removed"}[item.kind]
        what = "reordered" if item.reordered else what
        return marker, f"{path}: {what} (value hidden){suffix}"
    if item.kind is DiffKind.ADDED:
        return marker, f"{path}: {value_text(item.desired)}{suffix}"
    if item.kind is DiffKind.REMOVED:
        return marker, f"{path}: {value_text(item.live)}{suffix}"
    reordered = "reordered " if item.reordered else ""
    return marker, f"{path}: {reordered}{value_text(item.live)} → {value_text(item.desired)}"


#: An added or removed mapping wider than this on one line is shown key by key (display only).
WIDE = 100


def diff_lines(item: DiffItem, *, drift: bool = False) -> list[tuple[str, str]]:
    """:func:`diff_line`, with a wide added/removed mapping expanded one key per line, recursively.

    A wide added mapping would otherwise print as one line of thousands of
    characters. Only the rendering changes: JSON reports keep the item whole.
    """
    if item.sensitive or item.kind is DiffKind.CHANGED:
        return [diff_line(item, drift=drift)]
    value = item.desired if item.kind is DiffKind.ADDED else item.live
    marker = (_DRIFT_MARKERS if drift else MARKERS)[item.kind]
    suffix = _DRIFT_SUFFIX[item.kind] if drift else ""
    return [(marker, text + suffix) for text in _expanded(item.path or "(root)", value)]


#: Names listed in a summary line before "…".
SUMMARY_NAMES = 5
#: A whole new schema / variables document longer than this many lines is summarised (``--detail``: all).
SUMMARY_AFTER = 10


def new_part_lines(result: EnvPlan, *, drift: bool = False) -> dict[str, tuple[str, str]]:
    """Summary lines for a whole new schema / variables document (``--detail`` shows every key instead).

    ``{"schema": ("+", "schema: new, 14 properties (sites, fallback_number, …)"), "variables": …}``;
    in a drift report the page is "missing live" instead of "new".
    """
    marker, word = ("-", "missing live") if drift else ("+", "new")
    out: dict[str, tuple[str, str]] = {}
    if result.schema_new:
        props = next((i.desired for i in result.schema_diff if i.path == "properties"
                      and i.kind is DiffKind.ADDED and isinstance(i.desired, Mapping)), {})
        count = f"{len(props)} {'property' if len(props) == 1 else 'properties'}"
        out["schema"] = (marker, f"schema: {word}, {count}" + _names(list(props)))
    if result.variables_new:
        # The repository's key order (the PATCH body), else the diff's (an error page sends nothing).
        keys = list(result.variables_patch) or [i.path for i in result.variables_diff if i.kind is DiffKind.ADDED]
        out["variables"] = (marker, f"variables: {word}, {plural(len(keys), 'key')}" + _names(keys))
    return out


def _names(names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:SUMMARY_NAMES])
    return f" ({shown}{', …' if len(names) > SUMMARY_NAMES else ''})"


def _expanded(path: str, value: Any) -> list[str]:
    one = f"{path}: {value_text(value)}"
    if not isinstance(value, Mapping) or not value or len(one) <= WIDE:
        return [one]
    lines: list[str] = []
    for key, child in value.items():
        lines += _expanded(f"{path}.{key}" if path != "(root)" else str(key), child)
    return lines


def where(finding: Finding) -> str:
    """``file:line`` (or ``file``, or empty) of a finding."""
    return findings.location(finding)


def finding_line(finding: Finding) -> str:
    """``configs/a/sandbox/values.yaml:4: error [code] path: message`` (the validate report's line)."""
    return findings.text_line(finding)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(plan: Plan, command: str) -> str:
    """``Plan: 3 to change, 5 in sync, 1 error.`` (drift: ``Drift: 2 drifted, 6 in sync, 1 error.``)."""
    words = check_command(command)
    s = plan.summary()
    run_wide = 1 if any(f.blocks for f in plan.findings) and not s["errors"] else 0
    if command == "drift":
        d = plan.drift_summary()
        return f"Drift: {d['drift']} drifted, {d['in_sync']} in sync, {plural(d['errors'] + run_wide, 'error')}."
    parts = [f"{s['changes']} {words.count}", f"{s['in_sync']} in sync", plural(s["errors"] + run_wide, "error")]
    if s["skipped"]:
        parts.append(f"{s['skipped']} skipped")
    return f"{words.title}: {', '.join(parts)}."


def apply_summary_line(result: ApplyResult) -> str:
    """``Apply: 3 applied, 5 in sync, 1 failed.``"""
    counts = {state: 0 for state in OutcomeState}
    for outcome in result.outcomes:
        counts[outcome.state] += 1
    parts = [f"{counts[OutcomeState.APPLIED]} applied", f"{counts[OutcomeState.IN_SYNC]} in sync"]
    parts += [f"{counts[s]} {s.value}" for s in (OutcomeState.FAILED, OutcomeState.BLOCKED, OutcomeState.REFUSED,
                                                  OutcomeState.SKIPPED) if counts[s]]
    return f"Apply: {', '.join(parts)}."


def outcome_text(outcome: Outcome) -> str:
    """``applied (schema PUT, PATCH a, b)``, ``failed``, ``refused``…"""
    done = []
    if outcome.schema_put:
        done.append("schema PUT")
    if outcome.patched_keys:
        done.append("PATCH " + ", ".join(outcome.patched_keys))
    if outcome.replanned:
        done.append("re-planned after a change underneath")
    return outcome.state.value.replace("_", " ") + (f" ({'; '.join(done)})" if done else "")


def shows_outcome(result: EnvPlan, outcome: Outcome | None, words: Wording) -> bool:
    """Whether ``status → outcome`` says more than the status: not for ``in sync → in sync``."""
    return outcome is not None and outcome_text(outcome) != status_text(result, words)


def status_text(result: EnvPlan, words: Wording) -> str:
    if result.status is Status.CHANGES or (words.title == "Drift" and result.differs
                                          and result.status is Status.IN_SYNC):
        return words.changes
    if words.title == "Drift" and result.differs:
        return f"{words.changes}; error"
    return result.status.value.replace("_", " ")


def diff_block(result: EnvPlan, *, drift: bool, detail: bool) -> list[tuple[str, str]]:
    """(marker-or-"#", text) lines of one env: the schema action and its diff, then the variables'.

    ``#`` lines are headings (``schema: PUT (whole schema)``). A whole new schema
    or variables document is one summary line unless ``detail``.
    """
    summaries = {} if detail else new_part_lines(result, drift=drift)
    lines: list[tuple[str, str]] = []
    for part, items, action in (("schema", result.schema_diff, schema_action(result, drift=drift)),
                                ("variables", result.variables_diff, variables_action(result, drift=drift))):
        if not items:
            continue
        lines.append(("#", action))
        full = [line for item in items for line in diff_lines(item, drift=drift)]
        lines += [summaries[part]] if part in summaries and len(full) > SUMMARY_AFTER else full
    return lines


def cause_groups(plan: Plan) -> list[tuple[DriftCause, list[EnvPlan]]]:
    """Drifted pages grouped by cause, in :data:`CAUSE_TITLES` order (empty groups left out)."""
    groups: dict[DriftCause, list[EnvPlan]] = {cause: [] for cause in CAUSE_TITLES}
    for r in plan.results:
        if r.differs:
            groups[r.cause or DriftCause.UNKNOWN].append(r)
    return [(cause, rs) for cause, rs in groups.items() if rs]


def interesting(result: EnvPlan, outcome: Outcome | None) -> bool:
    """Worth a block of its own (in sync and unmanaged envs are folded into one line per agent)."""
    if result.status in (Status.CHANGES, Status.ERROR, Status.SKIPPED) or result.warnings or result.differs:
        return True
    return outcome is not None and outcome.state not in (OutcomeState.IN_SYNC, OutcomeState.UNMANAGED)


def env_findings(result: EnvPlan, outcome: Outcome | None) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(errors, warnings) of one env, the executor's included, without duplicates."""
    errors = tuple(result.errors) + (tuple(outcome.errors) if outcome else ())
    warnings = tuple(result.warnings) + (tuple(getattr(outcome, "warnings", ()) or ()) if outcome else ())
    return tuple(dict.fromkeys(errors)), tuple(dict.fromkeys(warnings))


def patch_keys(result: EnvPlan) -> str:
    return ", ".join(result.variables_patch)


def schema_action(result: EnvPlan, *, drift: bool = False) -> str:
    """``schema: PUT (whole schema)``, or why a difference is not sent (drift: just "differs")."""
    if drift:
        return "schema: differs"
    return "schema: " + ("PUT (whole schema)" if result.schema_put is not None else "differs (nothing sent: errors)")


def variables_action(result: EnvPlan, *, drift: bool = False) -> str:
    if drift:
        return "variables: differ"
    return "variables: " + (f"PATCH {patch_keys(result)}" if result.variables_patch
                            else "differ (nothing sent: errors)")


def mapping_or_empty(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value) if value else {}

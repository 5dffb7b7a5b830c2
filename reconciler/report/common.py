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

from reconciler.model import MASK, Finding
from reconciler.plan import ApplyResult, DiffItem, DiffKind, EnvPlan, Outcome, OutcomeState, Plan, Status
from reconciler.report import findings

COMMANDS = ("plan", "apply", "drift")

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


def diff_line(item: DiffItem) -> tuple[str, str]:
    """(marker, text) of one diff item: ``~ path: old → new``; a sensitive change stays visible, hidden."""
    marker = MARKERS[item.kind]
    path = item.path or "(root)"
    if item.sensitive:
        what = {DiffKind.CHANGED: "changed", DiffKind.ADDED: "added", DiffKind.REMOVED: "removed"}[item.kind]
        return marker, f"{path}: {what} (value hidden)"
    if item.kind is DiffKind.ADDED:
        return marker, f"{path}: {value_text(item.desired)}"
    if item.kind is DiffKind.REMOVED:
        return marker, f"{path}: {value_text(item.live)}"
    return marker, f"{path}: {value_text(item.live)} → {value_text(item.desired)}"


#: An added or removed mapping wider than this on one line is shown key by key (display only).
WIDE = 100


def diff_lines(item: DiffItem) -> list[tuple[str, str]]:
    """:func:`diff_line`, with a wide added/removed mapping expanded one key per line, recursively.

    A brand-new schema would otherwise print ``properties`` as one line of
    thousands of characters. Only the rendering changes: JSON reports keep the item whole.
    """
    if item.sensitive or item.kind is DiffKind.CHANGED:
        return [diff_line(item)]
    value = item.desired if item.kind is DiffKind.ADDED else item.live
    return [(MARKERS[item.kind], text) for text in _expanded(item.path or "(root)", value)]


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
    """``Plan: 3 to change, 5 in sync, 1 error.`` (or the drift wording)."""
    words = check_command(command)
    s = plan.summary()
    errors = s["errors"] + (1 if any(f.blocks for f in plan.findings) and not s["errors"] else 0)
    parts = [f"{s['changes']} {words.count}", f"{s['in_sync']} in sync", plural(errors, "error")]
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
    return outcome.state.value + (f" ({'; '.join(done)})" if done else "")


def status_text(result: EnvPlan, words: Wording) -> str:
    if result.status is Status.CHANGES:
        return words.changes
    return result.status.value.replace("_", " ")


def interesting(result: EnvPlan, outcome: Outcome | None) -> bool:
    """Worth a block of its own (in sync and unmanaged envs are folded into one line per agent)."""
    if result.status in (Status.CHANGES, Status.ERROR, Status.SKIPPED) or result.warnings or result.orphans:
        return True
    return outcome is not None and outcome.state not in (OutcomeState.IN_SYNC, OutcomeState.UNMANAGED)


def env_findings(result: EnvPlan, outcome: Outcome | None) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(errors, warnings) of one env, the executor's included, without duplicates."""
    errors = tuple(result.errors) + (tuple(outcome.errors) if outcome else ())
    warnings = tuple(result.warnings) + (tuple(getattr(outcome, "warnings", ()) or ()) if outcome else ())
    return tuple(dict.fromkeys(errors)), tuple(dict.fromkeys(warnings))


def patch_keys(result: EnvPlan) -> str:
    return ", ".join(result.variables_patch)


def schema_action(result: EnvPlan) -> str:
    """``schema: PUT (whole schema)``, or why a difference is not sent."""
    return "schema: " + ("PUT (whole schema)" if result.schema_put is not None else "differs (nothing sent: errors)")


def variables_action(result: EnvPlan) -> str:
    return "variables: " + (f"PATCH {patch_keys(result)}" if result.variables_patch
                            else "differ (nothing sent: errors)")


def mapping_or_empty(value: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(value) if value else {}

"""Ownership rules in validation: an owned key in ``values.yaml`` is an error; a missing one is not.

Called by :mod:`reconciler.checks.validation` once the per-page checks have run.
The ``ownership`` rules of ``reconciler.yaml`` (:mod:`reconciler.governance`)
say which keys live owns; the planner takes their values from live
(:mod:`reconciler.planning.ownership`). Here:

- ``values.live_owned`` (error, at the key's line): ``values.yaml`` sets a key
  live owns — the repository would silently never apply it, so it must go;
- a schema's ``required`` error about an owned key left out of ``values.yaml``
  is dropped (live holds that value; the planner validates the merged page).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from reconciler import governance, settings
from reconciler.model import DesiredState, EnvDesired, Finding, Severity, format_path
from reconciler.planning import ownership

CODE = "values.live_owned"


def rules_of(root: Path) -> governance.Governance:
    """The repository's governance rules; none when ``reconciler.yaml`` is absent or invalid (reported elsewhere)."""
    _, parsed = settings.read_settings_file(Path(root))
    return settings.governance_of(parsed)


def adjust(findings: Iterable[Finding], desired: DesiredState, rules: governance.Governance) -> list[Finding]:
    """``findings`` with the ownership findings added and the excused ``required`` errors removed."""
    out = list(findings)
    if not rules.ownership:
        return out
    excused: set[tuple[str, str, str, str | None]] = set()
    for agent in desired.agents.values():
        for env in agent.envs.values():
            paths = ownership.owned_paths(rules, env.agent, env.env)
            if not paths or env.values is None or env.values_map is None:
                continue
            out += [_owned_finding(env, text, path) for text, path in ownership.present(env.values, paths)]
            excused |= {(env.agent, env.env.value, f"{path[-1]!r} is a required property",
                         format_path(path[:-1]) or None) for _, path in paths}
    return [f for f in out if not (f.code == "values.invalid" and
                                   (f.agent, f.env, f.message, f.path) in excused)]


def _owned_finding(env: EnvDesired, text: str, path: tuple) -> Finding:
    vmap = env.values_map
    return Finding(Severity.ERROR, CODE,
                   f"`{text}` is owned by live (ownership in reconciler.yaml): remove it from values.yaml; "
                   "its value is kept as live has it and is never compared or written",
                   file=vmap.file, line=vmap.key_line_of(path), path=format_path(path) or None,
                   agent=env.agent, env=env.env.value)

"""``reconciler rollback AGENT --env ENV --to REVISION``: apply one page as it was at a git revision.

Called by ``cli/history.py``. The page's ``schema.yaml`` / ``values.yaml`` are
read from git (``git show REV:configs/<agent>/<env>/…``, never from a cache)
into a scratch copy of the repository that holds today's ``reconciler.yaml``
and ``policies/``; that copy is validated like any repository, planned
against a fresh read of live with today's settings (target, ownership,
windows), and applied through the same road as ``apply``
(:func:`reconciler.engine.execute_planned`): live needs approval, the run
holds the checkout's apply lock, and the history records ``rollback`` with the
revision. The repository itself is not touched: it now differs from live,
which ``drift`` reports until the revert is committed.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from reconciler import engine, errors
from reconciler.aio import run_async
from reconciler.apply import lock as applylock
from reconciler.checks import validation
from reconciler.model import ClientEnv
from reconciler.planning import reading
from reconciler.planning.plan import ApplyResult
from reconciler.repository import gitinfo, loader, writer
from reconciler.stopsignals import StopOnSignals

_FILES = ("schema.yaml", "values.yaml")
_TIMEOUT = 60


class RollbackError(errors.ConfigError):
    """The revision or the page cannot be rolled back to (nothing was read from live, nothing written)."""


@dataclass(frozen=True)
class Rollback:
    result: ApplyResult
    revision: str
    """The commit whose files were applied."""
    head: str | None
    """The repository's HEAD, which now differs from live (None: no commit)."""
    files: tuple[str, ...]
    """The page's files found at that revision."""


def run_rollback(root: Path, agent: str, env: ClientEnv, revision: str, options: engine.RunOptions, *,
                 approve_live: engine.ApproveLive | bool = False, signals: StopOnSignals | None = None) -> Rollback:
    """Plan and apply ``agent``/``env`` as the files were at ``revision``."""
    root = Path(root)
    writer.check_agent_id(agent)
    commit = resolve(root, revision)
    texts = {name: _show(root, commit, f"{loader.CONFIGS_DIR}/{agent}/{env.value}/{name}") for name in _FILES}
    found = tuple(name for name, text in texts.items() if text is not None)
    if not found:
        raise RollbackError(f"{agent}/{env.value} has no schema.yaml nor values.yaml at {commit[:12]}: nothing to "
                            "roll back to", code="rollback.no_page")
    started = time.monotonic()
    options = dataclasses.replace(options, agents=(agent,), envs=(env,), changed_since=None)
    with applylock.hold(root), tempfile.TemporaryDirectory(prefix="reconciler-rollback-") as scratch:
        copy = _scratch_repository(root, Path(scratch), agent, env, texts)
        desired = validation.validate_repository(copy, agents=[agent], envs=[env.value], today=options.today)
        settings = reading.load_settings(root, options)

        async def go() -> ApplyResult:
            async with engine.client_for(settings) as api:
                planned = await engine.plan_desired(api, settings, desired, (agent,), options)
                planned = engine.held_by_windows(planned, options)
                return await engine.execute_planned(api, planned, approve_live, started, None, signals,
                                                    command="rollback", rolled_back_to=commit)
        result = run_async(go())
    return Rollback(result=result, revision=commit, head=gitinfo.revision(root),
                    files=tuple(f"{loader.CONFIGS_DIR}/{agent}/{env.value}/{n}" for n in found))


def _scratch_repository(root: Path, scratch: Path, agent: str, env: ClientEnv, texts: dict[str, str | None]) -> Path:
    """Today's settings and policies, and the page's files as they were (nothing else is managed)."""
    copy = scratch / "repository"
    copy.mkdir()
    settings_file = root / "reconciler.yaml"
    if settings_file.is_file():
        shutil.copyfile(settings_file, copy / "reconciler.yaml")
    if (root / "policies").is_dir():
        shutil.copytree(root / "policies", copy / "policies", symlinks=False)
    page = copy / loader.CONFIGS_DIR / agent / env.value
    page.mkdir(parents=True)
    for name, text in texts.items():
        if text is not None:
            (page / name).write_text(text, encoding="utf-8")
    return copy


def resolve(root: Path, revision: str) -> str:
    """The commit ``revision`` names (a branch, tag, ``HEAD~1``, an id), or :class:`RollbackError`."""
    out = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    commit = (out or "").strip()
    if not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        raise RollbackError(f"--to: {revision!r} is not a commit of this repository (give a commit id, tag, "
                            "branch or HEAD~N; `reconciler history` lists the revisions applied)",
                            code="rollback.bad_revision")
    return commit


def _show(root: Path, commit: str, path: str) -> str | None:
    """A file's text at ``commit`` (``./`` makes the path relative to ``root``), None when it did not exist."""
    return _git(root, "show", f"{commit}:./{path}")


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RollbackError(f"cannot run git: {exc}", code="rollback.git") from None
    return proc.stdout if proc.returncode == 0 else None

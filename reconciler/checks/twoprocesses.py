"""Validation of a large repository on two cores: half of its agents checked in a forked child.

Called by ``reconciler validate`` (and :func:`reconciler.planning.reading.read_repository`)
through :func:`validate_repository`, which is
:func:`reconciler.checks.validation.validate_repository` with the same arguments and the same
result. Checking a repository is CPU work per agent (read, parse and check its files; ~0.3 ms
a file); only the end of it is run-wide (``reconciler.yaml``, keys live owns, the policies).
So, on Linux, for a whole repository of at least :data:`MIN_AGENTS` agents: the agent
directories are split into two halves in their listing order; a forked child runs
:func:`~reconciler.checks.validation.check_agents` on the second half while this process runs
it on the first, then sends its :class:`~reconciler.checks.validation.Checked` back pickled
over a pipe (with the on-disk cache entries it asked for, so a full run still prunes only what
no process asked for); this process puts the halves together in agent order and runs
:func:`~reconciler.checks.validation.finish` once. The child's own copy of what the first
half sees at the top of ``configs/`` (stray files, hidden directories) is dropped: this
process reports it. Measured with ``benchmarks/plan_bench.py``'s local phase (1,000 agents,
6,000 files, uncached, median of 3, alternating runs): ~1.2 s in one process, ~0.7 s in two
(see benchmarks/README.md).

The child never returns into the caller's code: it ends with ``os._exit`` whatever happens
and ignores SIGINT (this process reports an interruption, and kills the child when it stops
waiting). Anything but its whole answer — the child died, raised, or sent what does not
unpickle — and this process checks the second half itself: the same result, later, and any
error raised where it always was. Not on other systems, nor in a process already running a
second thread (forking one can deadlock the child): there, one process does it all.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import pickle
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from reconciler import steps
from reconciler.checks import validation
from reconciler.checks.validation import Checked
from reconciler.model import DesiredState
from reconciler.repository import cache as resultcache, loader

#: Fewest agent directories worth a second process (forking and sending a half back cost ~10-20 ms).
MIN_AGENTS = 64


def validate_repository(root: Path, *, agents: Iterable[str] | None = None, envs: Iterable[str] | None = None,
                        today: _dt.date | None = None, use_cache: bool = False,
                        min_agents: int = MIN_AGENTS) -> DesiredState:
    """:func:`reconciler.checks.validation.validate_repository`, in two processes when it pays.

    Two when the whole repository is asked (no ``agents``), it has ``min_agents`` agent directories
    or more, and this system forks (:func:`can_fork`); one otherwise."""
    root = Path(root)
    split = halves(root, min_agents) if agents is None and can_fork() else None
    if split is None:
        return validation.validate_repository(root, agents=agents, envs=envs, today=today, use_cache=use_cache)
    envs = tuple(envs) if envs is not None else None
    first, second = split
    with loader.results_cache(root, use_cache) as cache:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:                                 # the child: never returns
            os.close(read_end)
            _child(root, second, envs, use_cache, write_end)
        os.close(write_end)
        try:
            mine = steps.drain(validation.check_agents(root, first, envs, None, cache))
            theirs = _receive(read_end)
        finally:
            os.close(read_end)
            _reap(pid)
        if theirs is None:                           # no answer: the second half here
            theirs = steps.drain(validation.check_agents(root, second, envs, None, cache)), frozenset()
        other, asked = theirs
        if cache is not None:
            cache.also_asked(asked)
            if envs is None:
                cache.read_everything()              # a full run: parse entries nobody asked for are pruned
    return validation.finish(root, _joined(mine, other), today)


def can_fork() -> bool:
    """Whether a child may be forked here: Linux, and this process runs one thread."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def halves(root: Path, min_agents: int = MIN_AGENTS) -> tuple[list[str], list[str]] | None:
    """The agent directories in two halves (listing order), or None: fewer than ``min_agents``, or a
    ``configs/`` that is not a plain directory (the loader's checks then run in one process, as always)."""
    configs = os.path.join(os.fspath(root), loader.CONFIGS_DIR)
    if os.path.islink(configs) or not os.path.isdir(configs):
        return None
    names = loader.agent_ids(root)
    if len(names) < max(2, min_agents):
        return None
    middle = len(names) // 2
    return names[:middle], names[middle:]


def _child(root: Path, agents: Sequence[str], envs: Sequence[str] | None, use_cache: bool, fd: int) -> None:
    code = 1
    try:
        signal.set_wakeup_fd(-1)                     # a parent's event loop's, if any: not ours
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with loader.results_cache(root, use_cache) as cache:
            checked = steps.drain(validation.check_agents(root, agents, envs, None, cache))
            asked = cache.asked if cache is not None else frozenset()
        payload = pickle.dumps((_without_top(checked), asked), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
        code = 0
    finally:
        os._exit(code)


def _without_top(checked: Checked) -> Checked:
    """The child's findings of its own agents only (those at the top of ``configs/`` are the parent's)."""
    desired = checked.desired
    return dataclasses.replace(checked, desired=dataclasses.replace(
        desired, findings=tuple(f for f in desired.findings if f.agent is not None)))


def _receive(fd: int) -> tuple[Checked, frozenset[bytes]] | None:
    """The child's answer, read to the end; None when it is not a whole one."""
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    try:
        checked, asked = pickle.loads(b"".join(chunks))
    except Exception:                                # noqa: BLE001 - cut short or not ours: checked here instead
        return None
    if not isinstance(checked, Checked) or not isinstance(asked, frozenset):
        return None
    return checked, asked


def _reap(pid: int) -> None:
    """End the child if it still runs (this process is being interrupted) and collect it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:                       # pragma: no cover - it is ours until collected
        pass
    os.waitpid(pid, 0)


def _joined(first: Checked, second: Checked) -> Checked:
    """Both halves as one :class:`Checked`, agents and findings in agent order."""
    a, b = first.desired, second.desired
    shown = dict(first.shown)
    for message, count in second.shown.items():
        shown[message] = shown.get(message, 0) + count
    return Checked(dataclasses.replace(a, agents={**a.agents, **b.agents}, findings=a.findings + b.findings),
                   first.checks + second.checks, shown)

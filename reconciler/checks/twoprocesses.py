"""A large repository checked on two cores: half of its agents in a forked child process.

Called by ``reconciler validate`` (and :func:`reconciler.planning.reading.read_repository`)
through :func:`validate_repository`, which is
:func:`reconciler.checks.validation.validate_repository` with the same arguments and the same
result, and by the plan commands' local phase
(:func:`reconciler.planning.reading.validate_beside_reads`, which drives a :class:`Child` from
the event loop). Checking a repository is CPU work per agent (read, parse and check its files;
~0.3 ms a file); only the end of it is run-wide (``reconciler.yaml``, keys live owns, the
policies). So, on Linux, for a whole repository of at least :data:`MIN_AGENTS` agents: the
agent directories are split into two halves in their listing order; a forked child runs
:func:`~reconciler.checks.validation.check_agents` on the second half while this process runs
it on the first, naming each agent it accepts as it goes (a plan starts that agent's read at
once), then sends its :class:`~reconciler.checks.validation.Checked` back pickled over a pipe
(with the on-disk cache entries it asked for, so a full run still prunes only what no process
asked for); this process joins the halves in agent order (:func:`join`) and runs
:func:`~reconciler.checks.validation.finish` once. The child's own copy of what it sees at the
top of ``configs/`` (stray files, hidden directories) is dropped: this process reports it.

Measured (benchmarks/README.md has the runs): ``plan_bench.py``'s local phase of 1,000 agents
(6,000 files, uncached) 1.1-1.5 s in one process, 0.55 s in two; ``reconciler validate`` of
them 1.7-2.5 s → 1.1-1.2 s wall on a busy machine; a 300-agent plan's own process does 21 %
fewer instructions (4.07 → 3.20 billion), the child's half beside it.

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
    child = Child(root, second, envs, use_cache, stream=False)    # forked before this process opens the cache
    try:
        with loader.results_cache(root, use_cache) as cache:
            mine = steps.drain(validation.check_agents(root, first, envs, None, cache))
            child.read_all()
            child.end()
            theirs = child.answer() or (steps.drain(validation.check_agents(root, second, envs, None, cache)),
                                        frozenset())
            checked = join(cache, envs, mine, theirs)
    finally:
        child.end()
    return validation.finish(root, checked, today)


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


def join(cache: resultcache.ResultCache | None, envs: Sequence[str] | None, first: Checked,
         second: tuple[Checked, frozenset[bytes]]) -> Checked:
    """Both halves as one :class:`Checked`, agents and findings in agent order; the second half's cache
    entries (``second[1]``) count as asked for here, so a full run prunes only what neither asked for."""
    other, asked = second
    if cache is not None:
        cache.also_asked(asked)
        if envs is None:
            cache.read_everything()
    a, b = first.desired, other.desired
    shown = dict(first.shown)
    for message, count in other.shown.items():
        shown[message] = shown.get(message, 0) + count
    return Checked(dataclasses.replace(a, agents={**a.agents, **b.agents}, findings=a.findings + b.findings),
                   first.checks + other.checks, shown)


class Child:
    """The forked child that checks ``agents``; its answer comes in frames on :attr:`fd`.

    A frame is one kind byte and a 4-byte big-endian length, then that many bytes: ``A`` + an
    agent id as soon as the child's loader accepts it (``stream``), then ``R`` + the pickled
    ``(Checked, cache entries asked for)``. Feed what is read from :attr:`fd` to :meth:`feed`
    (or let :meth:`read_all` block for it), then ask :meth:`answer`; always :meth:`end` (once is
    enough, more is harmless). Fork it before this process opens the on-disk cache: a child must not
    inherit an open SQLite connection.
    """

    def __init__(self, root: Path, agents: Sequence[str], envs: Sequence[str] | None, use_cache: bool, *,
                 stream: bool) -> None:
        read_end, write_end = os.pipe()
        # SIGINT/SIGTERM wait until the child is known here: a signal between the fork and the line that
        # keeps its pid would leave a child nobody ends. Unblocking runs a pending one's handler at once.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        pid = os.fork()
        if pid == 0:                                 # the child: never returns
            os.close(read_end)
            _child(root, agents, envs, use_cache, write_end, stream, mask)
        os.close(write_end)
        self.pid, self.fd = pid, read_end
        self._closed = self._collected = False
        self._buffer = bytearray()
        self._result: bytes | None = None
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        except BaseException:                        # the signal that came meanwhile
            self.end()
            raise

    def feed(self, data: bytes) -> list[str]:
        """Take bytes read from :attr:`fd`; the agents the child accepted in the frames they complete."""
        self._buffer += data                         # in place: the result is megabytes at fleet scale
        accepted = []
        while len(self._buffer) >= _HEADER:
            end = _HEADER + int.from_bytes(self._buffer[1:_HEADER], "big")
            if len(self._buffer) < end:
                break
            kind, payload = bytes(self._buffer[:1]), bytes(self._buffer[_HEADER:end])
            del self._buffer[:end]
            if kind == _AGENT:
                accepted.append(payload.decode())
            else:
                self._result = payload
        return accepted

    def read_all(self) -> None:
        """Block until the child's pipe ends, feeding everything (accepted agents are not wanted)."""
        while chunk := os.read(self.fd, 1 << 20):
            self.feed(chunk)

    def answer(self) -> tuple[Checked, frozenset[bytes]] | None:
        """The child's answer, once its pipe has ended; None when it gave no whole one."""
        if self._result is None:
            return None
        try:
            checked, asked = pickle.loads(self._result)
        except Exception:                            # noqa: BLE001 - not a whole answer of ours: checked here
            return None
        return (checked, asked) if isinstance(checked, Checked) and isinstance(asked, frozenset) else None

    def end(self) -> None:
        """Close the pipe, end the child if it still runs (this process is being interrupted), collect it.

        Each step is done once; a call cut short by a signal leaves the rest to the next call."""
        if not self._closed:
            self._closed = True
            os.close(self.fd)
        if not self._collected:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:               # pragma: no cover - it is ours until collected
                pass
            os.waitpid(self.pid, 0)
            self._collected = True


_AGENT, _RESULT = b"A", b"R"
_HEADER = 5
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _child(root: Path, agents: Sequence[str], envs: Sequence[str] | None, use_cache: bool, fd: int,
           stream: bool, mask: set[signal.Signals]) -> None:
    code = 1
    try:
        signal.set_wakeup_fd(-1)                     # a parent's event loop's, if any: not ours
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        accepted = (lambda agent: _send(fd, _AGENT, agent.encode())) if stream else None
        with loader.results_cache(root, use_cache) as cache:
            checked = steps.drain(validation.check_agents(root, agents, envs, accepted, cache))
            asked = cache.asked if cache is not None else frozenset()
        _send(fd, _RESULT, pickle.dumps((_without_top(checked), asked), protocol=pickle.HIGHEST_PROTOCOL))
        code = 0
    finally:
        os._exit(code)


def _send(fd: int, kind: bytes, payload: bytes) -> None:
    view = memoryview(kind + len(payload).to_bytes(4, "big") + payload)
    while view:
        view = view[os.write(fd, view):]


def _without_top(checked: Checked) -> Checked:
    """The child's findings of its own agents only (those at the top of ``configs/`` are the parent's)."""
    desired = checked.desired
    return dataclasses.replace(checked, desired=dataclasses.replace(
        desired, findings=tuple(f for f in desired.findings if f.agent is not None)))

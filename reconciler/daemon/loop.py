"""``reconciler watch``: the daemon's loop — wiring, tasks, readiness and a clean stop.

Called by ``reconciler.cli.watch``. It owns the tasks that make the daemon:

- the HTTP surface (:mod:`reconciler.daemon.http`), started first so
  ``/healthz`` answers while the first sync runs;
- the reloader: file events (:mod:`reconciler.daemon.watcher`) reload only the
  agents whose files changed (a flip, ``policies/`` or ``reconciler.yaml``: the
  whole checkout, then only agents that differ) and put them on the work queue;
- ``concurrency`` workers, each taking one agent at a time from the
  :class:`~reconciler.daemon.workqueue.WorkQueue` and running
  :func:`reconciler.daemon.reconcile.reconcile_agent`;
- the resync timer (jittered) putting every agent on the queue;
- the persister writing the state record after passes that changed it;
- a pass when a held page's window opens (:mod:`~.windowholds`); notifications (:mod:`~.notifying`).

A *round* is "every agent once": the first one ends in ``ready``; each ends
by setting ``last_full_sync``. A pass that failed transiently does not count:
its agent is requeued with backoff, so an API that is down at start keeps
``/readyz`` at 503 until it answers. SIGTERM/SIGINT: no new work, writes in
flight finish (a PUT is never left without its PATCH), the record is saved,
exit 0 within the grace period.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import signal
import time
from pathlib import Path

from reconciler import errors
from reconciler.api.client import AgentsApi
from reconciler.apply import lock as applylock
from reconciler.daemon import http, logs, notifying, repository, sourcing, state as state_module, webhook, windowholds
from reconciler.daemon.gitsource import GitOptions, GitSource
from reconciler.daemon.holds import Gate, empty_like
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.reconcile import Context, Ending, reconcile_agent
from reconciler.daemon.sharding import Shard
from reconciler.daemon.status import Board
from reconciler.daemon.watcher import watch
from reconciler.daemon.workqueue import WorkQueue

STATE_DIR = ".reconciler"
PERSIST_EVERY = 0.2
#: Seconds an open circuit breaker waits before the daemon's next request may try the API again.
BREAKER_COOLDOWN_SECONDS = 3.0


@dataclasses.dataclass(frozen=True)
class WatchOptions:
    root: Path
    host: str = "127.0.0.1"
    port: int = 8080
    resync: float | None = None
    shard: Shard = Shard(0, 1)
    state_dir: Path | None = None
    log_format: str | None = None
    api_url: str | None = None
    concurrency: int | None = None
    grace: float = 20.0
    """Seconds between SIGTERM and exit, at most."""
    git: GitOptions | None = None
    """Git mode: clone and follow this branch (default: ``source:`` of DIR's reconciler.yaml, else DIR itself)."""
    webhook_listen: tuple[str, int] | None = None
    """Serve the webhook and approvals on their own listener (default: on ``--listen``)."""
    webhook_secret_file: Path | None = None

    def state_path(self) -> Path:
        directory = self.state_dir or (self.root / STATE_DIR)
        suffix = "" if self.shard.count == 1 else f"-shard-{self.shard.index}-of-{self.shard.count}"
        return directory / f"watch-state{suffix}.json"


@dataclasses.dataclass
class _Round:
    pending: set[str]
    created: float
    done: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    started_wall: float = dataclasses.field(default_factory=time.time)


def run(options: WatchOptions) -> int:
    """Run the daemon until SIGTERM/SIGINT; 0 after a clean stop."""
    return asyncio.run(Daemon(options).run())


class Daemon:
    def __init__(self, options: WatchOptions) -> None:
        self.options = options
        self.log: logging.Logger = logging.getLogger("reconciler.daemon")
        self.repo_options = repository.Options(api_url=options.api_url, concurrency=options.concurrency,
                                               resync=options.resync)
        self.board = Board(options.shard)
        self.metrics = Metrics(self.board)
        self.metrics.registry.register(sourcing.SourceCollector(self.board))
        self.gate = self.board.gate = Gate(self.metrics.registry, self.log)
        self.git: GitSource | None = None
        self.hooks: webhook.Hooks | None = None
        self.snapshot: repository.Snapshot | None = None
        self._rounds: list[_Round] = []
        self._pending: set[str] = set()
        self._pending_all = False
        self._pending_at: float | None = None
        self._wake = asyncio.Event()
        self._dirty = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._workers: list[asyncio.Task] = []
        self._exit_code = 0
        self._apply_lock: applylock.Taken | None = None   # the checkout's apply lock, from _start to stop

    # -- start and stop ---------------------------------------------------------------------

    async def run(self) -> int:
        self.log = self.gate.log = logs.setup(self.options.log_format)
        await self._open_source()                    # git mode: clone, fetch, first tree; DIR becomes its link
        real = repository.resolve(self.options.root)
        settings = repository.load_settings(real, self.repo_options)      # a ConfigError here: exit 1
        self.record, warning = state_module.load(self.options.state_path())
        if warning:
            self.log.warning(warning, extra={"event": "state_unknown"})
        self.api = AgentsApi.from_settings(settings, observer=self.metrics.observe_request)
        # The CLI's breaker waits 30 s before it lets a request try again; a daemon that outlives an
        # outage must notice the API is back within its own backoff, so it probes every few seconds.
        self.api.breaker.cooldown = BREAKER_COOLDOWN_SECONDS
        self.queue = WorkQueue()
        self.wakeups = windowholds.Wakeups(self.queue.add)              # a held page's window opens: a pass
        self.notifier = notifying.Notifier(self.record, self.metrics.registry, self.log, self._dirty.set)
        self.gate.on_hold = self.notifier.revision_held
        server, server_task = await self._serve()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        self.ctx = Context(api=self.api, board=self.board, record=self.record, metrics=self.metrics, log=self.log,
                           snapshot=lambda: self.snapshot, record_changed=self._dirty.set,
                           wake_at=self.wakeups.schedule, notify=self.notifier.after_pass)
        start = asyncio.create_task(self._start(settings.concurrency))
        start.add_done_callback(self._start_finished)
        await self._stop.wait()
        await self._shutdown(start, server, server_task)
        return self._exit_code

    def _start_finished(self, task: asyncio.Task) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        message = str(exc) if isinstance(exc, errors.ReconcilerError) else f"unexpected {type(exc).__name__}"
        self.log.error(f"could not start: {message}", extra={"event": "start_failed"})
        self._exit_code = 1
        self._stop.set()

    async def _serve(self):
        app = http.create_app(self.board, self.metrics, self._alive)
        hooks_here = self.hooks is not None and self.options.webhook_listen is None
        if hooks_here:
            app.router.routes.extend(self.hooks.routes())
        try:
            server, task, url = await http.start(app, self.options.host, self.options.port,
                                                 max_body=webhook.MAX_BODY if hooks_here else None)
        except OSError as exc:
            raise errors.ReconcilerError(f"cannot listen on {self.options.host}:{self.options.port}: "
                                         f"{exc.strerror or exc}") from None
        self.log.info(f"listening on {url}", extra={"event": "listening", "url": url})
        if self.hooks is not None and self.options.webhook_listen is not None:
            self._hook_server = await webhook.serve(self.hooks.app(), *self.options.webhook_listen, self.log)
        return server, task

    # -- the source (git clone or folder), webhooks and holds ------------------------------------

    async def _open_source(self) -> None:
        git = self.options.git or sourcing.configured(self.options.root)
        if git is not None:
            state_dir = self.options.state_dir or self.options.root / STATE_DIR
            self.git = await sourcing.open_git(git, state_dir / "git", self.board, self.log)
            self.options = dataclasses.replace(self.options, root=self.git.link, state_dir=state_dir)
        secret = webhook.load_secret(self.options.webhook_secret_file)
        if secret is not None:
            self.hooks = webhook.Hooks(secret, git.branch if git else None,
                                       self.git.request_fetch if self.git else (lambda: None), self.gate,
                                       lambda: self._on_change(None), self.metrics.registry)

    def _on_revision(self, revision, paths: list[str] | None) -> None:
        """A new commit is checked out: reload the agents it touched (all of them after a hold)."""
        self._on_change(None if paths is None or self.gate.held else sourcing.agents_touched(paths))

    async def _start(self, concurrency: int) -> None:
        """Load the repository, start every task, and run the first full sync."""
        # The checkout's apply lock, held until the daemon stops: a CLI apply waits for no one, we do.
        self._apply_lock = await applylock.take_when_free(self.options.root, applylock.DAEMON, lambda holder: (
            self.log.info(f"waiting for the apply lock: {holder}", extra={"event": "lock_wait"})))
        started = time.monotonic()
        loaded = await asyncio.to_thread(repository.load_full, self.options.root, self.options.shard,
                                         self.repo_options, None)
        # Blast radius: a first revision that changes too much from what the record says was applied waits.
        self.snapshot = loaded if self.gate.admit(None, loaded, self.record) else empty_like(loaded)
        sourcing.use(self.board, self.log, self.snapshot, self.git is None)
        self.log.info(f"loaded {len(self.snapshot.desired.agents)} agents (shard {self.options.shard}) "
                      f"from {self.snapshot.real_root}",
                      extra={"event": "loaded", "revision": self.snapshot.revision, "count": len(self.snapshot.agents)})
        self._workers = [asyncio.create_task(self._worker()) for _ in range(concurrency)]
        self._watch_stop = asyncio.Event()
        files = watch(self.options.root, self._on_change, self._on_flip, self._watch_stop) if self.git is None \
            else self._watch_stop.wait()             # git mode: trees are read-only; the source says what moved
        self._tasks = [asyncio.create_task(files),
                       asyncio.create_task(self._reloader()), asyncio.create_task(self._persister())]
        if self.git is not None:
            self._tasks.append(asyncio.create_task(self.git.run(self._on_revision)))
        first = self._start_round(self.snapshot.agents)
        await first.done.wait()
        self.board.ready = True
        self.log.info(f"ready: first full sync of {len(self.snapshot.agents)} agents took "
                      f"{time.monotonic() - started:.2f}s", extra={"event": "ready",
                                                                  "seconds": round(time.monotonic() - started, 3)})
        self._tasks.append(asyncio.create_task(self._resync()))

    async def _shutdown(self, start: asyncio.Task, server, server_task: asyncio.Task) -> None:
        deadline = time.monotonic() + max(1.0, self.options.grace - 2.0)
        self.log.info("stopping: no new work; letting writes in flight finish", extra={"event": "stopping"})
        if hasattr(self, "_watch_stop"):
            self._watch_stop.set()
        if hasattr(self, "queue"):
            self.queue.shutdown()
        start.cancel()
        for task in self._tasks:
            if task is not self._tasks[0]:
                task.cancel()
        if self._workers:
            _, late = await asyncio.wait(self._workers, timeout=max(0.1, deadline - time.monotonic()))
            if late:
                self.log.warning(f"{len(late)} passes did not finish within the grace period; stopping them",
                                 extra={"event": "grace_exceeded", "count": len(late)})
                for task in late:
                    task.cancel()
        await asyncio.gather(*self._tasks, start, return_exceptions=True)
        if hasattr(self, "notifier"):
            self.wakeups.cancel()
            await self.notifier.aclose()                 # unsent notifications are not remembered: sent next start
        if hasattr(self, "record"):
            await asyncio.to_thread(state_module.write, self.record.to_json(), self.options.state_path())
        server.should_exit = True
        if hasattr(self, "_hook_server"):
            self._hook_server[0].should_exit = True
            await asyncio.gather(self._hook_server[1], return_exceptions=True)
        try:
            await asyncio.wait_for(server_task, 3)
        except (asyncio.TimeoutError, Exception):       # noqa: BLE001 - stopping anyway
            server_task.cancel()
        await self.api.aclose()
        if self._apply_lock is not None:
            self._apply_lock.release()
        self.log.info("stopped", extra={"event": "stopped"})

    def _alive(self) -> bool:
        return not any(t.done() for t in self._tasks) and not any(t.done() for t in self._workers) \
            or self._stop.is_set()

    # -- rounds (every agent once) ------------------------------------------------------------

    def _start_round(self, agents) -> _Round:
        round_ = _Round(set(agents), time.monotonic())
        self._rounds.append(round_)
        for agent in agents:
            self.queue.add(agent)
        self._check_round(round_)
        return round_

    def _pass_done(self, agent: str, started: float) -> None:
        for round_ in list(self._rounds):
            if started >= round_.created:
                round_.pending.discard(agent)
                self._check_round(round_)

    def _check_round(self, round_: _Round) -> None:
        if not round_.pending and not round_.done.is_set():
            round_.done.set()
            self._rounds.remove(round_)
            self.board.last_full_sync = time.time()
            seconds = round(time.monotonic() - round_.created, 3)
            self.log.info(f"full sync of {len(self.snapshot.agents) if self.snapshot else 0} agents finished "
                          f"in {seconds:.2f}s", extra={"event": "full_sync", "seconds": seconds})

    async def _resync(self) -> None:
        """Every ``resync`` (+-10 % jitter, so replicas drift apart): every agent again, from a fresh read."""
        while True:
            period = self.snapshot.settings.resync
            await asyncio.sleep(period * random.uniform(0.9, 1.1))
            if any(not r.done.is_set() for r in self._rounds):
                continue                                 # the previous round is still running
            self._start_round(self.snapshot.agents)

    # -- work ---------------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            agent, work = item
            started = time.monotonic()
            ending = Ending.TRANSIENT
            try:
                ending = await reconcile_agent(self.ctx, agent, work.event_at)
            except asyncio.CancelledError:
                raise
            except Exception as exc:                     # noqa: BLE001 - a bug in one pass must not stop the daemon
                self.log.error(f"{agent}: unexpected {type(exc).__name__} in a pass; retrying with backoff",
                               extra={"event": "pass_failed", "agent": agent})
            finally:
                self.queue.done(agent)
            if ending is Ending.TRANSIENT:
                self.queue.add_after(agent, self.queue.backoff(agent))
            elif ending is Ending.WAIT:
                self.queue.add_after(agent, 1.0)
            else:
                self.queue.forget(agent)
                self._pass_done(agent, started)

    # -- file events -----------------------------------------------------------------------------

    def _on_change(self, agents: set[str] | None) -> None:
        if agents is None:
            self._pending_all = True
        else:
            self._pending |= agents
        if self._pending_at is None:
            self._pending_at = time.monotonic()
        self._wake.set()

    def _on_flip(self) -> None:
        self.log.info("repository swapped underneath (symlink flip); reloading", extra={"event": "flip"})
        self._on_change(None)

    async def _reloader(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            everything, agents, at = self._pending_all, self._pending, self._pending_at
            self._pending_all, self._pending, self._pending_at = False, set(), None
            try:
                await self._reload(everything, agents, at)
            except asyncio.CancelledError:
                raise
            except Exception as exc:                     # noqa: BLE001 - keep the last good snapshot
                self.log.error(f"reloading the repository failed ({type(exc).__name__}); keeping the last load",
                               extra={"event": "reload_failed"})

    async def _reload(self, everything: bool, agents: set[str], at: float | None) -> None:
        old = self.snapshot
        if everything and self.git is not None:     # a tree of the git source is never rewritten while read
            new = await sourcing.load_full(self.git, self.options.shard, self.repo_options, old.settings)
            changed = repository.changed_agents(old, new)
            targets = set(old.agents) | set(new.agents) if changed is None else set(changed)
        elif everything:
            new = await asyncio.to_thread(repository.load_full, self.options.root, self.options.shard,
                                          self.repo_options, old.settings)
            changed = repository.changed_agents(old, new)
            targets = set(old.agents) | set(new.agents) if changed is None else set(changed)
        elif self.git is not None:                  # a new commit: its tree, only the agents it touched
            new = await sourcing.load_revision(self.git, old, agents, self.options.shard)
            targets = {a for a in agents if self.options.shard.owns(a)}
        else:
            new = sourcing.edited(await asyncio.to_thread(repository.load_agents, old, self.options.root, agents,
                                                          self.options.shard))
            targets = {a for a in agents if self.options.shard.owns(a)}
        if not self.gate.admit(old, new, self.record):
            return                                   # held: nothing from this revision is written
        self.snapshot = new
        gone = set(old.agents) - set(new.agents)
        for round_ in list(self._rounds):
            round_.pending -= gone
            self._check_round(round_)
        for agent in sorted(targets):
            self.queue.add(agent, event_at=at)
        # After the agents are queued: `git log`/`git status` must not delay an edit going live.
        if everything or self.git is not None:
            sourcing.use(self.board, self.log, new, self.git is None)
        else:
            described = await asyncio.to_thread(sourcing.describe, new.real_root)
            if self.snapshot is new:
                self.snapshot = new = dataclasses.replace(new, revision=described.id if described else None,
                                                          source_revision=described)
            sourcing.use(self.board, self.log, new, self.git is None)

    async def _persister(self) -> None:
        path = self.options.state_path()
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await asyncio.to_thread(state_module.write, self.record.to_json(), path)
            except OSError as exc:
                self.log.error(f"cannot write the state record {path}: {exc.strerror or exc}",
                               extra={"event": "state_write_failed"})
            await asyncio.sleep(PERSIST_EVERY)

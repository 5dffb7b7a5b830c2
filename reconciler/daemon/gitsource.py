"""The daemon's own git source: a clone of one branch, fetched, and each new head materialised read-only.

Used by the daemon's loop in git mode (``reconciler watch --git URL``). It
keeps, under ``STATE_DIR/git/``:

- ``repo.git``: a bare repository fetching ``+refs/heads/BRANCH`` from the URL
  (the ``git`` command line; a force-push or rewind simply moves the ref);
- ``trees/{a,b,c}``: read-only trees of commits (``git archive``, never a work
  tree: no uncommitted file can exist; see :mod:`reconciler.daemon.trees`),
  each with ``<tree>.revision.json`` beside it (commit id, subject, author,
  time; read by :func:`reconciler.daemon.revision.describe`);
- ``current``: a symlink flipped atomically (``rename``) to the tree being
  applied — the same swap git-sync makes, so a load never sees half a tree.

Only the branch's current head is applied (commits pushed together are one
revision). Credentials come from the environment only: ``RECONCILER_GIT_TOKEN``
(or the file named by ``RECONCILER_GIT_TOKEN_FILE``) is handed to git through
``GIT_CONFIG_*`` variables as an HTTP header, never on a command line; ssh keys
through the usual ``GIT_SSH_COMMAND``. A URL carrying a password is refused,
and every git error is scrubbed of credentials before it is logged or shown.
The fetch loop (:meth:`GitSource.run`) wakes on the interval or on
:meth:`GitSource.request_fetch` (the push webhook); triggers that arrive while
one is pending or running are coalesced into one fetch.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as _dt
import json
import logging
import os
import subprocess
import tarfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler import errors
from reconciler.daemon import revision as revision_module, trees as trees_module
from reconciler.daemon.revision import Revision

ENV_TOKEN = "RECONCILER_GIT_TOKEN"
ENV_TOKEN_FILE = "RECONCILER_GIT_TOKEN_FILE"
SCHEMES = ("https", "ssh", "file")
#: Seconds a trigger waits for more triggers before fetching (a burst of pushes is one fetch).
COALESCE_SECONDS = 0.05
GIT_TIMEOUT = 120.0


@dataclasses.dataclass(frozen=True)
class GitOptions:
    url: str
    branch: str = "main"
    interval: float = 60.0
    """Seconds between fetches when no webhook arrives."""


class SourceError(errors.ReconcilerError):
    """git failed; the message is already free of credentials."""


def check_url(url: str) -> str:
    """The URL if the daemon may fetch from it; ValueError (a usage error) otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"git URL must be https://, ssh:// or file://, got {revision_module.strip_credentials(url)!r}")
    if parts.password or (parts.username and parts.scheme == "https"):
        raise ValueError(f"git URL {revision_module.strip_credentials(url)!r} carries credentials: put the token in "
                         f"{ENV_TOKEN} or a file named by {ENV_TOKEN_FILE} instead")
    if parts.scheme != "file" and not parts.hostname:
        raise ValueError(f"git URL {url!r} has no host")
    return url


def check_branch(branch: str) -> str:
    if not branch or branch.startswith("-") or any(c in branch for c in " ~^:?*[\\") or ".." in branch:
        raise ValueError(f"{branch!r} is not a branch name")
    return branch


@dataclasses.dataclass
class SourceStatus:
    """What ``/status`` shows under ``source`` (git mode)."""

    url: str
    branch: str
    revision: Revision | None = None
    """The branch's head at the last successful fetch."""
    fetched_at: float | None = None
    last_error: str | None = None
    fetches: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"kind": "git", "url": self.url, "branch": self.branch,
                "revision": self.revision.to_json() if self.revision else None,
                "fetched_at": _iso(self.fetched_at), "last_error": self.last_error}


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return _dt.datetime.fromtimestamp(stamp, tz=_dt.timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


class GitSource:
    def __init__(self, options: GitOptions, directory: Path, environ: Mapping[str, str] = os.environ) -> None:
        self.options = options
        self.directory = directory
        self.repo = directory / "repo.git"
        self.trees = trees_module.Trees(directory)
        self.status = SourceStatus(revision_module.strip_credentials(options.url), options.branch)
        self.log = logging.getLogger("reconciler.daemon")
        self._environ = environ
        self._secrets = _secrets(options.url, environ)
        self._trigger: asyncio.Event | None = None

    # -- blocking steps (run in a thread) ------------------------------------------------------

    def sync(self) -> tuple[Revision, list[str] | None] | None:
        """Fetch; when the head moved, write it into a free buffer and flip ``current`` to it.

        Returns (the new revision, the paths it changed, or None when unknown), or None when
        the head is the one already applied. Raises SourceError (status updated either way).
        """
        self.status.fetches += 1
        try:
            head = self._fetch()
        except SourceError as exc:
            self.status.last_error = str(exc)
            raise
        self.status.fetched_at, self.status.last_error = time.time(), None
        current = self.current_id()
        if head == current:
            return None
        paths = self._changed_paths(current, head) if current else None
        line = self._git("log", "-1", f"--format={revision_module.LOG_FORMAT}", head)
        revision = revision_module.parse_log_line(line)
        if revision is None:
            raise SourceError(f"cannot read commit {head[:12]}")
        tree = self.trees.pick()
        self._fill(tree, head)
        revision_module.sidecar_of(tree).write_text(json.dumps(revision.to_json()), encoding="utf-8")
        self.trees.flip(tree)
        self.status.revision = revision
        return revision, paths

    def prepare(self) -> None:
        """Fill a spare tree with the current commit, so that the next commit rewrites only what differs."""
        current = self.current_id()
        spare = self.trees.pick()
        if current is None or self.trees.commit_of(spare) is not None:
            return
        self._fill(spare, current)
        revision_module.sidecar_of(spare).write_text(
            revision_module.sidecar_of(self.trees.current()).read_text(encoding="utf-8"), encoding="utf-8")

    def current_id(self) -> str | None:
        return self.trees.commit_of(self.trees.current())

    @property
    def link(self) -> Path:
        return self.trees.link

    def _fetch(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not (self.repo / "HEAD").exists():
            self._git("init", "--bare", "--quiet", str(self.repo), cwd=self.directory)
        ref = f"refs/remotes/origin/{self.options.branch}"
        self._git("fetch", "--quiet", "--no-tags", "--prune", self.options.url,
                  f"+refs/heads/{self.options.branch}:{ref}")
        return self._git("rev-parse", "--verify", f"{ref}^{{commit}}").strip()

    def _fill(self, tree: Path, commit: str) -> None:
        """``tree`` holds ``commit`` afterwards: only the differing files rewritten, or from scratch."""
        held = self.trees.commit_of(tree)
        revision_module.sidecar_of(tree).unlink(missing_ok=True)        # no identity while rewritten
        changed = self._changed_paths(held, commit) if held and tree.is_dir() else None
        if changed is None:
            trees_module.remove(tree)
            tree.mkdir(parents=True)
            self._extract(commit, tree)
            trees_module.read_only(tree)
            return
        present = [p for p in self._git("diff", "--name-only", "--no-renames", "--diff-filter=d", "-z",
                                        held, commit).split("\x00") if p]
        folders = trees_module.ancestors(tree, changed)
        trees_module.writable(folders)
        trees_module.drop(tree, changed)
        for start in range(0, len(present), 500):
            self._extract(commit, tree, present[start:start + 500])
        trees_module.seal(tree, present, trees_module.ancestors(tree, changed))

    def _extract(self, commit: str, into: Path, paths: list[str] | None = None) -> None:
        pathspec = ["--", *(f":(literal){p}" for p in paths)] if paths else []
        proc = subprocess.Popen(["git", "-C", str(self.repo), "archive", "--format=tar", commit, *pathspec],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self._env())
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                archive.extractall(into, filter="data")
        except (tarfile.TarError, OSError) as exc:
            proc.kill()
            raise SourceError(f"cannot unpack commit {commit[:12]}: {type(exc).__name__}") from None
        finally:
            _, err = proc.communicate(timeout=GIT_TIMEOUT)
        if proc.returncode != 0:
            raise SourceError(self._scrub(f"git archive failed: {err.decode(errors='replace').strip()}"))

    def _changed_paths(self, old: str, new: str) -> list[str] | None:
        try:
            out = self._git("diff", "--name-only", "--no-renames", "-z", old, new)
        except SourceError:
            return None                           # the old commit is gone (e.g. pruned): reload everything
        return [p for p in out.split("\x00") if p]

    def prune(self) -> None:
        """Remove leftovers that are not buffers (off the critical path)."""
        self.trees.prune()

    def _git(self, *args: str, cwd: Path | None = None) -> str:
        command = ["git", *args] if cwd is not None else ["git", "--git-dir", str(self.repo), *args]
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=GIT_TIMEOUT,
                                  env=self._env(), cwd=cwd, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SourceError(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s") from None
        except OSError as exc:
            raise SourceError(f"cannot run git: {exc.strerror or exc}") from None
        if proc.returncode != 0:
            detail = proc.stderr.strip().splitlines()
            raise SourceError(self._scrub(f"git {args[0]} failed: {detail[-1] if detail else proc.returncode}"))
        return proc.stdout

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in self._environ.items() if k not in (ENV_TOKEN, "RECONCILER_WEBHOOK_SECRET", "POLYAI_API_KEY")}
        env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", LC_ALL="C")
        token = self._secrets.get("token")
        if token:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            env.update(GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0="http.extraHeader",
                       GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}")
        return env

    def _scrub(self, text: str) -> str:
        text = text.replace(self.options.url, self.status.url)
        for secret in self._secrets.values():
            if secret:
                text = text.replace(secret, "***")
        return text

    # -- the fetch loop ------------------------------------------------------------------------

    def request_fetch(self) -> None:
        """Fetch soon (the push webhook); many calls in a burst make one fetch."""
        if self._trigger is not None:
            self._trigger.set()

    async def run(self, on_revision: Callable[[Revision, list[str] | None], None]) -> None:
        """Forever: fetch on the interval or a trigger; ``on_revision`` after every new head is materialised."""
        self._trigger = asyncio.Event()
        try:
            await asyncio.to_thread(self.prepare)
        except (SourceError, OSError) as exc:               # only slower later: the next commit starts afresh
            self.log.warning(f"could not prepare a spare tree: {exc}", extra={"event": "prepare_failed"})
        while True:
            try:
                await asyncio.wait_for(self._trigger.wait(), self.options.interval)
                await asyncio.sleep(COALESCE_SECONDS)
            except asyncio.TimeoutError:
                pass
            self._trigger.clear()
            await self.fetch_once(on_revision)

    async def fetch_once(self, on_revision: Callable[[Revision, list[str] | None], None]) -> None:
        had_error = self.status.last_error
        try:
            result = await asyncio.to_thread(self.sync)
        except SourceError as exc:
            if str(exc) != had_error:
                self.log.error(f"fetching {self.status.url} ({self.options.branch}) failed: {exc}; "
                               "keeping the last revision", extra={"event": "fetch_failed", "url": self.status.url})
            return
        if had_error:
            self.log.info(f"fetching {self.status.url} works again", extra={"event": "fetch_recovered"})
        if result is not None:
            revision, paths = result
            self.log.info(f"new revision {revision.short} on {self.options.branch}: {revision.subject}",
                          extra={"event": "revision", "revision": revision.id})
            on_revision(revision, paths)
            await asyncio.to_thread(self.prune)


def _secrets(url: str, environ: Mapping[str, str]) -> dict[str, str]:
    token = environ.get(ENV_TOKEN, "")
    path = environ.get(ENV_TOKEN_FILE)
    if not token and path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            token = ""                               # an optional Secret that is not there: a public repository
        except OSError as exc:
            raise errors.ReconcilerError(f"cannot read {ENV_TOKEN_FILE}: {exc.strerror or exc}") from None
    user = urlsplit(url).username or ""
    return {"token": token, "user": user if user not in ("git", "") else ""}

"""Who and where: the GitHub Actions environment, read once into a value.

Called by ``cli/github.py``. GitHub Actions sets every variable read here
(https://docs.github.com/actions/reference/variables-reference); tests set
them for a subprocess and point ``GITHUB_API_URL`` at a loopback server.

- ``GITHUB_TOKEN`` — only from the environment, never from a flag or a file,
  and never printed (the dataclass field is excluded from ``repr``);
- ``GITHUB_REPOSITORY`` — ``owner/name``;
- ``GITHUB_EVENT_PATH`` — the event payload: the pull request's number and
  head commit (``pull_request`` and ``pull_request_target`` events alike);
- ``GITHUB_API_URL`` (default ``https://api.github.com``; GitHub Enterprise
  sets its own), ``GITHUB_SERVER_URL`` and ``GITHUB_RUN_ID`` for the run link,
  ``GITHUB_SHA`` as the commit when the event has no pull request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import ConfigError
from reconciler.repository import safefile

DEFAULT_API_URL = "https://api.github.com"
#: The GitHub event file (GITHUB_EVENT_PATH) is read up to this size (GitHub caps payloads at 25 MB).
MAX_EVENT_BYTES = 64 * 1024 * 1024
DEFAULT_SERVER_URL = "https://github.com"
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class GitHubContext:
    token: str = field(repr=False)
    """``GITHUB_TOKEN``; never printed."""
    repository: str
    """``owner/name``."""
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    run_id: str | None = None
    pr_number: int | None = None
    """From ``--pr`` or the event payload; ``None`` outside a pull request."""
    head_sha: str | None = None
    """The commit this run is about: the PR head from the event, else ``GITHUB_SHA``."""

    @property
    def repo_path(self) -> str:
        return f"/repos/{self.repository}"

    @property
    def run_url(self) -> str | None:
        if not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


def from_environment(environ: Mapping[str, str] = os.environ, *, pr: int | None = None,
                     sha: str | None = None) -> GitHubContext:
    """Read the context; a missing token or repository is a :class:`ConfigError` (exit 1)."""
    token = environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise ConfigError("GITHUB_TOKEN is not set (in a workflow: env: GITHUB_TOKEN: ${{ github.token }})",
                          code="github.no_token")
    repository = environ.get("GITHUB_REPOSITORY", "").strip()
    if not _REPOSITORY.match(repository):
        raise ConfigError(f"GITHUB_REPOSITORY must be owner/name, got {repository!r}", code="github.repository")
    event = _read_event(environ.get("GITHUB_EVENT_PATH"))
    pull = event.get("pull_request") if isinstance(event.get("pull_request"), Mapping) else {}
    number = pr if pr is not None else _int(pull.get("number"))
    head = pull.get("head") if isinstance(pull.get("head"), Mapping) else {}
    return GitHubContext(
        token=token, repository=repository,
        api_url=(environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        server_url=(environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL).rstrip("/"),
        run_id=environ.get("GITHUB_RUN_ID") or None, pr_number=number,
        head_sha=sha or (head.get("sha") if isinstance(head.get("sha"), str) else None)
        or environ.get("GITHUB_SHA") or None)


def _read_event(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = safefile.load_json(path, limit=MAX_EVENT_BYTES, what="event file")
    except ConfigError as exc:
        raise ConfigError(f"GITHUB_EVENT_PATH {path}: {exc.message}", code="github.event") from None
    return data if isinstance(data, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

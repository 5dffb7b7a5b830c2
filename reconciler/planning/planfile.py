"""Saved plans: ``plan --save-plan FILE`` writes one, ``apply --plan FILE`` applies it only if nothing moved.

Terraform's ``plan -out`` / ``apply PLANFILE`` without its secret-in-artifact
problem: the file holds the masked JSON report (what was reviewed) and, per
page, the ``lastUpdated`` it was planned against and keyed digests of the
bodies it would send — never a value to send. At apply time the values come
from the repository again, and the run goes ahead only when the repository
files, every page's ``lastUpdated`` and every write's body are exactly what
the file recorded (:func:`differences`).

Format (``format_version`` 1; README "Saved plans" and ``docs/`` describe it)::

    {"format_version": 1, "kind": "rtc-reconciler-plan", "created_at", "tool_version", "target",
     "repository": {"revision": git HEAD or null, "content_sha256": digest of every file read,
                    "files": {"configs/a/live/values.yaml": digest, ...}},
     "results": [... as in the JSON report, masked ...],
     "pages": [{"agent", "env", "live_last_updated", "schema_put_sha256", "patch_sha256"}],
     "command": "plan", "changed_since", "environments", "summary", "findings",   # the JSON report's own keys
     "options": {"allow_large_change": bool},
     "signature": {"algorithm": "HMAC-SHA256", "key_id", "value"}}

Every digest is HMAC-SHA256 under a key derived from the API key
(:func:`plan_key`), so a low-entropy secret (a 4-digit PIN) cannot be found by
hashing every candidate: that needs the key. The signature covers the whole
document, so an edited file is refused. With ``api.url: local`` and no
``POLYAI_API_KEY`` the key is a random one kept in ``.reconciler/plan.key``
(next to the local emulator's state): such a plan applies only in that checkout.

Reading files and git is left to the loader and :mod:`reconciler.repository.gitinfo`, and the
masked JSON report the file embeds is made by :mod:`reconciler.report.json` and passed in
(:func:`build`): this module imports no report. It builds, parses and compares values, and
reads/writes the plan file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconciler import errors
from reconciler.planning import canonical
from reconciler.repository import safefile
from reconciler.planning.plan import EnvPlan, Plan, Status
from reconciler.repository import statedir
from reconciler.settings import Settings

KIND = "rtc-reconciler-plan"
FORMAT_VERSION = 1
#: Where the random key of a keyless ``url: local`` repository lives (never committed: .reconciler/ is ignored).
LOCAL_KEY_FILE = ".reconciler/plan.key"
#: A plan file larger than this is refused unread (a fleet of 10k agents stays far below).
MAX_BYTES = 256 * 1024 * 1024
#: The only ``signature.algorithm`` written and accepted.
SIGNATURE_ALGORITHM = "HMAC-SHA256"
_KEY_LABEL = b"rtc-reconciler plan file v1"


class PlanFileError(errors.ConfigError):
    """The plan file cannot be used: unreadable, corrupt, another target, a newer format, tampered."""


class StalePlanError(errors.ReconcilerError):
    """Something moved since the plan was made; nothing was written. One message per difference."""

    def __init__(self, differences: list[str]) -> None:
        self.differences = list(differences)
        lines = "\n".join(f"  - {d}" for d in self.differences)
        super().__init__(f"the saved plan no longer matches; nothing was written "
                         f"({len(self.differences)} difference(s)):\n{lines}\n"
                         "  plan again (reconciler plan --save-plan FILE), review, then apply that plan")


@dataclasses.dataclass(frozen=True)
class SavedPlan:
    """A parsed plan file (signature not yet checked: see :func:`verify_signature`)."""

    doc: Mapping[str, Any]
    source: str

    @property
    def target(self) -> str:
        return str(self.doc["target"])

    @property
    def agents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(str(r["agent"]) for r in self.doc["results"]))

    @property
    def envs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(str(r["env"]) for r in self.doc["results"]))

    @property
    def allow_large_change(self) -> bool:
        return bool((self.doc.get("options") or {}).get("allow_large_change"))

    @property
    def changed_since(self) -> str | None:
        return self.doc.get("changed_since")

    def pages(self) -> dict[tuple[str, str], Mapping[str, Any]]:
        return {(str(p["agent"]), str(p["env"])): p for p in self.doc["pages"]}

    def statuses(self) -> dict[tuple[str, str], str]:
        return {(str(r["agent"]), str(r["env"])): str(r["status"]) for r in self.doc["results"]}


# -- the key ---------------------------------------------------------------------------------------

def plan_key(settings: Settings, *, create: bool) -> bytes:
    """The HMAC key of plan files for this target: derived from the API key, or local's random key.

    ``create``: make ``.reconciler/plan.key`` when a keyless local target has none yet
    (``plan``); ``apply`` never creates one (a plan made elsewhere cannot match).
    """
    if settings.api_key:
        return hmac.new(settings.api_key.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()
    if not settings.api.is_local:
        raise PlanFileError("POLYAI_API_KEY is not set: a plan file's digests are keyed with it",
                            code="plan_file.no_key")
    path = Path(settings.root) / LOCAL_KEY_FILE
    if path.is_file():
        return bytes.fromhex(safefile.read_text(path, limit=4096, what="plan key").strip())
    if not create:
        raise PlanFileError(f"no {LOCAL_KEY_FILE} in this checkout: this plan was made elsewhere (with "
                            "url: local and no POLYAI_API_KEY a plan applies only where it was made)",
                            code="plan_file.no_key")
    statedir.ignore_if_inside(path)             # .reconciler/ ignores itself: the key is never committed
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name of the key: says "another API key" apart from "edited"."""
    return _mac(key, "key-id")[:16]


def body_digest(key: bytes, kind: str, agent: str, env: str, body: Any) -> str | None:
    """Keyed digest of one write's body (``schema`` or ``variables``), bound to its page; None: no write."""
    if body is None:
        return None
    return _mac(key, kind, agent, env, canonical.canonical_text({kind: body}))


def file_digests(key: bytes, hashes: Mapping[str, str]) -> dict[str, str]:
    return {path: _mac(key, "file", path, sha) for path, sha in sorted(hashes.items())}


def content_digest(key: bytes, digests: Mapping[str, str]) -> str:
    return _mac(key, "content", canonical.canonical_text(dict(sorted(digests.items()))))


# -- building and writing --------------------------------------------------------------------------

def build(plan: Plan, *, report: Mapping[str, Any], key: bytes, file_hashes: Mapping[str, str],
          revision: str | None, allow_large_change: bool) -> dict[str, Any]:
    """The plan file document (a value; :func:`write` puts it on disk).

    ``report``: the JSON report of ``plan`` (``reconciler.report.json.document(plan, command="plan")``),
    already masked: its ``created_at``, ``tool_version``, ``results`` and summary keys are what was reviewed.
    """
    files = file_digests(key, file_hashes)
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION, "kind": KIND, "created_at": report["created_at"],
        "tool_version": report["tool_version"], "target": plan.target,
        "repository": {"revision": revision, "content_sha256": content_digest(key, files), "files": files},
        "results": report["results"],
        "pages": [_page(key, r) for r in plan.results if r.status is not Status.UNMANAGED],
    }
    for extra in ("command", "changed_since", "environments", "summary", "findings"):
        doc[extra] = report[extra]
    doc["options"] = {"allow_large_change": allow_large_change}
    doc["signature"] = {"algorithm": SIGNATURE_ALGORITHM, "key_id": key_id(key), "value": _signature(key, doc)}
    return doc


def _page(key: bytes, r: EnvPlan) -> dict[str, Any]:
    return {"agent": r.agent, "env": r.env.value, "live_last_updated": r.live_last_updated,
            "schema_put_sha256": body_digest(key, "schema", r.agent, r.env.value, r.schema_put),
            "patch_sha256": body_digest(key, "variables", r.agent, r.env.value,
                                        dict(r.variables_patch) if r.variables_patch else None)}


def _signature(key: bytes, doc: Mapping[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "signature"}
    return _mac(key, "plan", json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def write(path: Path, doc: Mapping[str, Any]) -> None:
    """Write atomically (temp file + rename), readable by the owner only: it names agents and targets."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        statedir.ignore_if_inside(path)         # a plan saved under .reconciler/ is never committed either
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")   # as the JSON report
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise PlanFileError(f"cannot write the plan file: {exc.strerror or exc}", code="plan_file.unwritable",
                            file=str(path)) from None


# -- reading and checking --------------------------------------------------------------------------

def read_json(path: Path) -> Any:
    """The JSON document in ``path``; a clear error when it cannot be read or is not JSON."""
    source = str(path)
    try:
        # Regular files only, bounded while reading, nesting bounded (reconciler.repository.safefile).
        text = safefile.read_text(path, limit=MAX_BYTES, what="plan file")
    except errors.ConfigError as exc:
        code = {"file.too_large": "plan_file.too_large"}.get(exc.code, "plan_file.unreadable")
        raise PlanFileError(exc.message, code=code, file=source) from None
    try:
        return safefile.parse_json(text, source=source, what="plan file")
    except errors.ConfigError as exc:
        if exc.code == "file.too_deep":
            raise PlanFileError(exc.message, code="plan_file.too_deep", file=source) from None
        raise PlanFileError(f"not valid JSON (corrupt or truncated?): {exc.message.rsplit(': ', 1)[-1]}",
                            code="plan_file.corrupt", file=source, line=exc.line) from None


def load(path: Path) -> SavedPlan:
    """Read and parse a plan file (see :func:`parse`)."""
    return parse(read_json(path), source=str(path))


def parse(doc: Any, *, source: str) -> SavedPlan:
    """Check the shape of a plan file: kind, version, the keys ``apply --plan`` needs."""
    if isinstance(doc, Mapping) and "kind" not in doc and "command" in doc:
        raise PlanFileError("this is a JSON report, not a saved plan: make one with "
                            "`reconciler plan DIR --save-plan FILE`", code="plan_file.not_a_plan", file=source)
    if not isinstance(doc, Mapping) or doc.get("kind") != KIND:
        kind = doc.get("kind") if isinstance(doc, Mapping) else type(doc).__name__
        raise PlanFileError(f"not an rtc-reconciler plan file (kind: {kind!r})", code="plan_file.not_a_plan",
                            file=source)
    _check_version(doc, source=source)
    problems = [k for k in ("target", "repository", "results", "pages", "signature") if k not in doc]
    if problems:
        raise PlanFileError(f"corrupt plan file: missing {', '.join(problems)}", code="plan_file.corrupt",
                            file=source)
    saved = SavedPlan(doc=doc, source=source)
    try:
        # Every accessor apply --plan uses, once, so a malformed file fails here with one clear message.
        _ = (saved.pages(), saved.statuses(), saved.agents, dict(doc["repository"]["files"]),
             str(doc["signature"]["value"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"corrupt plan file: {type(exc).__name__}: {exc}", code="plan_file.corrupt",
                            file=source) from None
    return saved


def _check_version(doc: Mapping[str, Any], *, source: str) -> None:
    """A ``format_version`` this reconciler reads (the JSON report's rule: a newer one is refused)."""
    if "format_version" not in doc:
        raise PlanFileError("not a reconciler report or plan file (no format_version)",
                            code="show.not_a_report", file=source)
    version = doc["format_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        raise PlanFileError(f"format_version must be an integer, not {version!r}", code="show.corrupt", file=source)
    if version > FORMAT_VERSION:
        raise PlanFileError(f"written by a newer reconciler (format_version {version}; this "
                            f"reconciler reads {FORMAT_VERSION}); upgrade rtc-reconciler to read it",
                            code="show.newer_format", file=source)


def check_target(saved: SavedPlan, target: str) -> None:
    if saved.target != target:
        raise PlanFileError(f"this plan is for target {saved.target!r}, but this run targets {target!r}; "
                            "apply it with the settings it was made with, or plan again",
                            code="plan_file.other_target", file=saved.source)


def verify_signature(saved: SavedPlan, key: bytes) -> None:
    """Refuse a plan file edited after it was written (or made with another API key)."""
    signature = saved.doc["signature"]
    if signature.get("algorithm") != SIGNATURE_ALGORITHM:
        # The algorithm is outside what the signature covers: "none" with the original value must not pass.
        raise PlanFileError(f"unknown signature algorithm {str(signature.get('algorithm'))[:40]!r} (this "
                            f"reconciler signs and checks {SIGNATURE_ALGORITHM} only); plan again",
                            code="plan_file.bad_algorithm", file=saved.source)
    if signature.get("key_id") != key_id(key):
        raise PlanFileError("this plan was made with another API key (POLYAI_API_KEY differs), or its signature "
                            "was edited; plan again with this key", code="plan_file.other_key", file=saved.source)
    if not hmac.compare_digest(str(signature.get("value")), _signature(key, saved.doc)):
        raise PlanFileError("the plan file was modified after it was written (its signature does not match); "
                            "plan again", code="plan_file.tampered", file=saved.source)


def differences(saved: SavedPlan, fresh: Plan, file_hashes: Mapping[str, str], key: bytes) -> list[str]:
    """Everything that moved since the plan: files, pages' lastUpdated, write bodies, statuses. Empty: apply."""
    out = _file_differences(saved, file_digests(key, file_hashes))
    pages, statuses = saved.pages(), saved.statuses()
    seen: set[tuple[str, str]] = set()
    for r in fresh.results:
        where = (r.agent, r.env.value)
        if r.status is Status.UNMANAGED:
            if where in pages:
                out.append(f"{r.agent}/{r.env.value} is in the plan but is no longer managed by the repository")
            continue
        seen.add(where)
        recorded = pages.get(where)
        if recorded is None:
            out.append(f"{r.agent}/{r.env.value} is managed now but was not in the plan")
            continue
        out += _page_differences(r, recorded, statuses.get(where), key)
    out += [f"{agent}/{env} is in the plan but not in this run" for agent, env in pages if (agent, env) not in seen]
    return out


def _file_differences(saved: SavedPlan, now: Mapping[str, str]) -> list[str]:
    recorded = saved.doc["repository"]["files"]
    out = []
    for path in sorted(set(recorded) | set(now)):
        if path not in now:
            out.append(f"{path} was deleted since the plan")
        elif path not in recorded:
            out.append(f"{path} was added since the plan")
        elif not hmac.compare_digest(str(recorded[path]), now[path]):
            out.append(f"{path} changed since the plan")
    return out


def _page_differences(r: EnvPlan, recorded: Mapping[str, Any], status: str | None, key: bytes) -> list[str]:
    page = f"{r.agent}/{r.env.value}"
    then = recorded.get("live_last_updated")
    if r.live_last_updated != then and r.status is Status.IN_SYNC and status == Status.CHANGES.value:
        return [f"{page} changed since the plan (lastUpdated {then or 'none'} → {r.live_last_updated or 'unknown'}); "
                "it now matches what the plan would write — already applied?"]
    if r.live_last_updated != then:
        return [f"{page} was edited at {r.live_last_updated or 'an unknown time'} after the plan "
                f"(the plan saw lastUpdated {then or 'none'})"]
    out = []
    if status is not None and status != r.status.value:
        out.append(f"{page} was planned as {status} and is now {r.status.value}")
    if body_digest(key, "schema", r.agent, r.env.value, r.schema_put) != recorded.get("schema_put_sha256"):
        out.append(f"{page}: the schema PUT is not the one in the plan")
    patch = dict(r.variables_patch) if r.variables_patch else None
    if body_digest(key, "variables", r.agent, r.env.value, patch) != recorded.get("patch_sha256"):
        out.append(f"{page}: the variables PATCH is not the one in the plan")
    return out

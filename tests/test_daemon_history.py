"""The daemon's apply history (issue 23): `reconciler watch --git` following a real bare repository keeps, per
page, its last `history.keep` applies — revision, time, outcome, changed key names — in `/status`, on the
status page and in its state record (so a restart keeps them), never a value; and it sends `applied` only for
the environments a subscription names."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from reconciler.daemon import status as status_module
from tests.daemon_helpers import Watch, set_value, wait_until
from tests.e2e_helpers import SCHEMA, make_repo, values, write_env
from tests.git_helpers import commit_and_push, git
from tests.hook_receiver import Receiver

pytestmark = pytest.mark.slow

AGENT = "hist-d"
CANARY = "canarysensitivevalue"
STATUS_SCHEMA = json.loads((Path(status_module.__file__).parent / "status.schema.json").read_text())
SENSITIVE_SCHEMA = copy.deepcopy(SCHEMA)
SENSITIVE_SCHEMA["properties"]["api_token"] = {"type": "string", "x-sensitive": True, "pattern": "^[a-z]+$",
                                               "title": "Token", "description": "secret"}


def _remote(tmp_path: Path, emulator, hook_url: str) -> tuple[Path, str]:
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "--quiet", "--initial-branch=main", str(bare))
    work = make_repo(tmp_path / "work", emulator.url, agents=(AGENT,))
    write_env(work, AGENT, "sandbox", schema=SENSITIVE_SCHEMA, vals=values("sandbox", api_token=CANARY))
    (work / "reconciler.yaml").write_text((work / "reconciler.yaml").read_text() + (
        "history:\n  keep: 2\nnotifications:\n  targets:\n"
        f"    - {{name: ops, kind: webhook, url: '{hook_url}/hook'}}\n"
        "  subscriptions:\n    - {on: [applied], envs: [sandbox], targets: [ops]}\n"), encoding="utf-8")
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "remote", "add", "origin", bare.as_uri())
    return work, bare.as_uri()


def _history(watch: Watch, env: str = "sandbox") -> list[dict]:
    return watch.page(AGENT, env)["history"]


def test_status_lists_each_pages_last_applies_with_their_revisions(tmp_path, emulator):
    with Receiver() as hooks:
        work, remote = _remote(tmp_path, emulator, hooks.url)
        first = commit_and_push(work, "Initial configuration")
        emulator.seed(AGENT)
        daemon_dir = tmp_path / "daemon"
        daemon_dir.mkdir()
        with Watch(daemon_dir, "--git", remote, "--interval", "1s") as watch:
            watch.wait_ready()
            [entry] = _history(watch)
            assert entry["revision"] == first and entry["outcome"] == "applied" and entry["command"] == "watch"
            assert entry["schema_put"] is True and entry["correlation_id"] is None
            assert sorted(entry["changed_keys"]) == sorted(values("sandbox", api_token=CANARY))
            assert (entry["agent"], entry["env"]) == (AGENT, "sandbox") and entry["time"].endswith("Z")
            assert _history(watch, "live") == []                           # sync: manual, never written

            set_value(work, AGENT, "sandbox", "greeting", "Second greeting")
            second = commit_and_push(work, "Second")
            wait_until(lambda: _history(watch)[-1]["revision"] == second, timeout=20, what="the second apply")
            set_value(work, AGENT, "sandbox", "greeting", "Third greeting")
            third = commit_and_push(work, "Third")
            wait_until(lambda: _history(watch)[-1]["revision"] == third, timeout=20, what="the third apply")

            history = _history(watch)                                      # keep: 2, oldest first
            assert [e["revision"] for e in history] == [second, third]
            assert all(e["changed_keys"] == ["greeting"] and e["schema_put"] is False for e in history)
            doc = watch.status()
            jsonschema.validate(doc, STATUS_SCHEMA)
            assert CANARY not in json.dumps(doc)
            row = watch.get("/").text.split(f'data-agent="{AGENT}" data-env="sandbox"')[1].split("</tr>")[0]
            assert third[:12] in row and second[:12] in row and first[:12] not in row and "greeting" in row
            wait_until(lambda: len(hooks.documents("/hook")) >= 3, timeout=10, what="three applied notifications")
        record = (daemon_dir / ".reconciler" / "watch-state.json").read_text()
        assert CANARY not in record
        assert [e["revision"] for e in json.loads(record)["history"][f"{AGENT}/sandbox"]] == [second, third]
        applied = hooks.documents("/hook")
        assert [(d["trigger"], d["env"], d["revision"]) for d in applied] == \
            [("applied", "sandbox", first), ("applied", "sandbox", second), ("applied", "sandbox", third)]
        assert applied[1]["keys"] == ["greeting"] and CANARY not in json.dumps(applied)

        # A restart keeps the history: it lives in the state record.
        with Watch(daemon_dir, "--git", remote, "--interval", "1s") as again:
            again.wait_ready()
            assert [e["revision"] for e in again.page(AGENT, "sandbox")["history"]] == [second, third]

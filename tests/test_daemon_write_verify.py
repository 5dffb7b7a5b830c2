"""`reconciler watch` as a subprocess: a write answered with an unexpected page holds every write.

The emulator's ``patch_replaces`` fault makes PATCH replace instead of merge.
The daemon must write one page (its first write goes alone, even at the first
full sync), record ``apply.unexpected_result`` on it, write nothing more — not at
the next resync either — show the hold on ``/status``, ``/``, ``/readyz`` and in
``reconciler_unexpected_results_total``, and resume once the repository changes.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from tests.daemon_helpers import Watch, set_value, v1_writes, wait_until, write_settings
from tests.e2e_helpers import SCHEMA, values, write_env

pytestmark = pytest.mark.slow

AGENTS = ("hold-a", "hold-b", "hold-c", "hold-d")
SECRET_SCHEMA = copy.deepcopy(SCHEMA)
SECRET_SCHEMA["properties"]["api_token"] = {"type": "string", "x-sensitive": True, "title": "Token",
                                            "description": "Partner API token"}
TOKEN = "tok-M3nB6vC9xZ2lK5jH8gF1dS4a"


def _repo(tmp_path, emulator):
    root = tmp_path / "repo"
    root.mkdir()
    write_settings(root, emulator.url, "  sandbox: {sync: auto}\n  pre-release: {sync: auto}\n"
                                       "  live: {sync: manual}\n", resync="1s")
    for agent in AGENTS:
        pages = {}
        for env in ("sandbox", "pre-release", "live"):
            write_env(root, agent, env, schema=SECRET_SCHEMA, vals=values(env, api_token=TOKEN))
            # Live differs in one key only: each page needs a one-key PATCH of `greeting`.
            pages[env] = {"schema": SECRET_SCHEMA, "variables": values(env, api_token=TOKEN, greeting="Old")}
        emulator.seed(agent, pages)
    return root


def _metric(watch, name: str) -> float:
    for line in watch.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _no_token(text: str) -> None:
    pieces = [TOKEN[i:i + 8] for i in range(len(TOKEN) - 7)]
    assert not [p for p in pieces if p in text]


def test_unexpected_write_answer_holds_every_write_until_the_repository_changes(tmp_path, emulator):
    root = _repo(tmp_path, emulator)
    emulator.set_faults(patch_replaces=True)
    with Watch(root) as watch:
        held = wait_until(lambda: watch.status()["writes_held"], timeout=30, what="writes held")
        watch.wait_ready()
        assert held["code"] == "apply.unexpected_result"
        page = watch.wait_page(held["agent"], held["env"], "error")
        assert page["last_error"]["code"] == "apply.unexpected_result"
        assert "variables.api_token: missing from the answer (value hidden)" in page["last_error"]["message"]
        assert "variables.max_hold: missing from the answer (planned 120)" in page["last_error"]["message"]
        # One page written, and nothing more: not by the other agents' passes, not at the next resyncs.
        assert len(v1_writes(emulator.requests())) == 1
        time.sleep(2.5)
        assert len(v1_writes(emulator.requests())) == 1
        assert _metric(watch, f'reconciler_unexpected_results_total{{env="{held["env"]}"}}') == 1
        others = [p for p in watch.status()["results"] if p["env"] != "live" and p is not page
                  and (p["agent"], p["env"]) != (held["agent"], held["env"])]
        assert others and all(p["status"] == "error" and "writes are held" in p["last_error"]["message"]
                              for p in others)
        readyz = watch.get("/readyz")
        assert readyz.status_code == 200 and "writes held" in readyz.text and held["agent"] in readyz.text
        html = watch.get("/").text
        assert 'id="writes-held"' in html and "apply.unexpected_result" in html
        assert [x for x in watch.logs() if x["event"] == "writes_held"]
        _no_token(watch.text() + json.dumps(watch.status()) + html)

        # A repository change lifts the hold; with the API fixed, everything converges.
        emulator.set_faults()
        set_value(root, AGENTS[0], "sandbox", "max_hold", 90)
        wait_until(lambda: watch.status()["writes_held"] is None, timeout=20, what="the hold lifted")
        assert [x for x in watch.logs() if x["event"] == "writes_resumed"]
        wait_until(lambda: emulator.peek(AGENTS[0], "sandbox")["variables"]["max_hold"] == 90, timeout=20,
                   what="the change written")
    _no_token(watch.text())


def test_a_failed_request_is_logged_and_shown_with_its_request_id(tmp_path, emulator):
    root = tmp_path / "repo"
    root.mkdir()
    write_settings(root, emulator.url, "  sandbox: {sync: auto}\n", resync="60s")
    write_env(root, "not-seeded", "sandbox", schema=SCHEMA, vals=values("sandbox"))
    emulator.reset_stats()
    with Watch(root) as watch:
        page = watch.wait_page("not-seeded", "sandbox", "error")
        [get] = [r for r in emulator.requests() if r["method"] == "GET"]
        assert page["last_error"]["request_id"] == get["correlation_id"]
        wait_until(lambda: [x for x in watch.logs() if x["event"] == "error"], what="the error logged")
        [logged] = [x for x in watch.logs() if x["event"] == "error"]
        assert logged["request_id"] == get["correlation_id"] and get["correlation_id"] in logged["message"]

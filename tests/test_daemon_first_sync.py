"""`reconciler watch` as a subprocess: the first full sync, /readyz, /status's shape and /metrics."""

from __future__ import annotations

import json
import subprocess
from importlib import resources

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon_helpers import Watch, wait_until
from tests.e2e_helpers import ENVS, make_repo, values, writes

pytestmark = pytest.mark.slow


def _status_schema() -> dict:
    return json.loads(resources.files("reconciler.daemon").joinpath("status.schema.json").read_text("utf-8"))


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_first_sync_converges_auto_envs_and_reports_manual_as_drift(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url, agents=("fs-a", "fs-b"))
    for agent in ("fs-a", "fs-b"):
        emulator.seed(agent)
    # Slow answers so the first sync is still running when /readyz is first asked.
    emulator.set_faults(latency_ms=400)
    with Watch(root, "--resync", "60s") as watch:
        assert watch.get("/healthz").status_code == 200
        assert watch.get("/readyz").status_code == 503
        assert _samples(watch.get("/metrics").text)[("reconciler_ready", ())] == 0
        watch.wait_ready(timeout=40)
        emulator.set_faults()
        doc = watch.status()
        jsonschema.validate(doc, _status_schema())
        assert doc["ready"] is True and doc["shard"] == "0/1" and doc["last_full_sync"]
        assert doc["summary"] == {"in_sync": 4, "applying": 0, "drift": 2, "error": 0, "unmanaged": 0}
        for agent in ("fs-a", "fs-b"):
            for env in ("sandbox", "pre-release"):
                assert emulator.peek(agent, env)["variables"] == values(env)
                assert watch.page(agent, env)["status"] == "in_sync"
                assert watch.page(agent, env)["last_applied"]
            live = watch.page(agent, "live")
            assert emulator.peek(agent, "live")["variables"] == {}          # manual: never written
            assert live["status"] == "drift" and live["sync"] == "manual"
            assert {d["path"] for d in live["drift"] if d["document"] == "variables"} >= {"greeting", "sites"}
        # Every write of the first sync: a PUT then its PATCH, sandbox and pre-release only.
        sent = writes(emulator.requests())
        assert len(sent) == 8 and not any("/live/" in path for _, path in sent)
        metrics = _samples(watch.get("/metrics").text)
        assert metrics[("reconciler_ready", ())] == 1
        assert metrics[("reconciler_pages", (("env", "live"), ("status", "drift")))] == 2
        assert metrics[("reconciler_pages", (("env", "sandbox"), ("status", "in_sync")))] == 2
        assert metrics[("reconciler_applies_total", (("env", "sandbox"), ("result", "applied")))] == 2
        assert metrics[("reconciler_api_requests_total", (("code", "200"), ("method", "PATCH")))] == 4
        assert metrics[("reconciler_last_full_sync_timestamp_seconds", ())] > 0
        logs = watch.logs()
        assert logs[0]["event"] == "listening" and logs[0]["message"] == f"listening on {watch.url}"
        applied = [line for line in logs if line["event"] == "applied"]
        assert {(line["agent"], line["env"]) for line in applied} == {
            (a, e) for a in ("fs-a", "fs-b") for e in ("sandbox", "pre-release")}
        assert all(line["keys"] and "time" in line and line["level"] == "info" for line in applied)
    assert watch.proc.returncode == 0


def test_status_masks_sensitive_values_and_page_renders(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url, agents=("mask-a",))
    schema_path = root / "configs" / "mask-a" / "live" / "schema.yaml"
    schema_path.write_text(schema_path.read_text().replace(
        "  greeting:\n    type: string\n", "  greeting:\n    type: string\n    x-sensitive: true\n"))
    emulator.seed("mask-a")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(git + args, check=True, capture_output=True, timeout=60)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, timeout=60).stdout.strip()
    with Watch(root) as watch:
        watch.wait_ready()
        assert watch.status()["revision"] == head
        live = watch.page("mask-a", "live")
        assert live["status"] == "drift"
        text = json.dumps(watch.status())
        assert values("live")["greeting"] not in text
        assert any(d.get("sensitive") for d in live["drift"] if d["path"] == "greeting")
        html = watch.get("/").text
        assert values("live")["greeting"] not in html
        assert values("live")["greeting"] not in watch.text()          # nor in the logs
        assert 'http-equiv="refresh"' in html and "<script" not in html and "http" not in html.split("<body>")[1]
        assert 'data-agent="mask-a" data-env="live" data-status="drift"' in html


def test_usage_errors_exit_1(tmp_path):
    import sys

    for args in (["--shard", "3/2"], ["--listen", "nowhere"], ["--resync", "soon"], ["--log-format", "xml"]):
        proc = subprocess.run([sys.executable, "-m", "reconciler", "watch", str(tmp_path), *args],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


@pytest.fixture(autouse=True)
def _envs_are_three():
    assert ENVS == ("sandbox", "pre-release", "live")

"""`reconciler emulator` as a real process: ready line, keys, signals, kill -9 durability."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

KEY = {"x-api-key": "k"}


class Emulator:
    """The CLI in a subprocess; ``url`` comes from its one stdout line."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "reconciler", "emulator", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), (line, self.proc.stderr.read())
        self.url = line.split()[-1]

    def stop(self, sig=signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, out, err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "emulator.db"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_one_ready_line_and_stops_cleanly(db, sig):
    emu = Emulator("--db", str(db), "--auto-create")
    assert httpx.get(emu.url + "/v1/agents/x/real-time-configs", headers=KEY).status_code == 200
    code, out, err = emu.stop(sig)
    assert code == 0, err
    assert out == ""                                          # nothing after the ready line
    assert "Traceback" not in err


def test_acknowledged_writes_survive_kill_9(db):
    emu = Emulator("--db", str(db), "--auto-create")
    acked = []
    with httpx.Client(base_url=emu.url, headers=KEY) as client:
        client.put("/v1/agents/p/real-time-configs/live/schema", json={"schema": {"type": "object"}})
        for i in range(30):
            r = client.patch("/v1/agents/p/real-time-configs/live/variables", json={"variables": {f"k{i}": i}})
            assert r.status_code == 200
            acked.append(r.json())
    emu.proc.kill()                                           # SIGKILL: no shutdown code runs
    emu.proc.wait(timeout=20)
    again = Emulator("--db", str(db))                         # no --auto-create: the agent must exist
    page = httpx.get(again.url + "/v1/agents/p/real-time-configs/live", headers=KEY).json()
    assert page == acked[-1]
    assert again.stop()[0] == 0


def test_api_keys_from_flags_and_environment(db):
    emu = Emulator("--db", str(db), "--auto-create", "--api-key", "flag-key", env={"EMULATOR_API_KEYS": "env-a, env-b"})
    path = emu.url + "/v1/agents/x/real-time-configs"
    assert [httpx.get(path, headers={"x-api-key": k}).status_code for k in ("flag-key", "env-a", "env-b", "other")] \
        == [200, 200, 200, 401]
    code, out, err = emu.stop()
    assert code == 0 and "flag-key" not in out + err and "env-a" not in out + err


def test_fault_flags_apply_from_start(db):
    emu = Emulator("--db", str(db), "--auto-create", "--rate-limit-rate", "1", "--retry-after-s", "7")
    r = httpx.get(emu.url + "/v1/agents/x/real-time-configs", headers=KEY)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert emu.stop()[0] == 0


def test_bad_fault_flag_is_a_one_line_error(db):
    out = subprocess.run([sys.executable, "-m", "reconciler", "emulator", "--port", "0", "--db", str(db),
                          "--error-rate", "3"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "error_rate" in out.stderr and "Traceback" not in out.stderr


def test_busy_port_is_a_one_line_error(db):
    emu = Emulator("--db", str(db))
    port = emu.url.rsplit(":", 1)[1]
    out = subprocess.run([sys.executable, "-m", "reconciler", "emulator", "--port", port, "--db", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot listen" in out.stderr and "Traceback" not in out.stderr
    assert emu.stop()[0] == 0

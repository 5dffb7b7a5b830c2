"""The CLI and the daemon share the checkout's apply lock (real processes, the loopback emulator).

``apply`` refuses while ``watch`` serves the same repository, naming the
daemon's pid, and sends nothing; ``watch`` started while a CLI apply holds the
lock waits (one log line) and starts once it is free.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.daemon_helpers import Watch, wait_until
from tests.e2e_helpers import cli, make_repo, values, write_env, writes

HOLDER = """
import sys, time
from pathlib import Path
from reconciler.apply import lock
with lock.hold(Path(sys.argv[1])):
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_apply_refuses_while_watch_serves_the_repository(tmp_path: Path, emulator) -> None:
    emulator.seed("acme")
    root = make_repo(tmp_path / "repo", emulator.url)
    with Watch(root) as watch:
        watch.wait_ready()
        write_env(root, "acme", "live", vals=values("live", max_hold=9))
        emulator.reset_stats()
        proc = cli(root, "apply", "--auto-approve", "--env", "live", check_codes=(1,),
                   cwd=root / "configs" / "acme")
        assert f"`reconciler watch` serves this repository and applies it (pid {watch.proc.pid} since" in proc.stderr
        assert "stop the daemon first" in proc.stderr
        assert writes(emulator.requests()) == []
    # Once the daemon is gone the same apply goes through.
    cli(root, "apply", "--auto-approve", check_codes=(0,))


def test_watch_waits_while_a_cli_apply_holds_the_lock(tmp_path: Path, emulator) -> None:
    emulator.seed("acme")
    root = make_repo(tmp_path / "repo", emulator.url)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with Watch(root) as watch:
            wait_until(lambda: any(r.get("event") == "lock_wait" for r in watch.logs()), what="lock_wait log")
            line = next(r for r in watch.logs() if r.get("event") == "lock_wait")
            assert f"another apply is already running in this repository (pid {holder.pid} since" in str(line)
            time.sleep(1.0)
            assert watch.get("/readyz").status_code != 200 and emulator.stats()["total"] == 0
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(10)
            watch.wait_ready()
            watch.wait_page("acme", "sandbox", "in_sync")        # sync: auto, written once the lock was free
            assert emulator.peek("acme", "sandbox")["variables"] == values("sandbox")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(5)
        holder.stdout.close()
        holder.stdin.close()

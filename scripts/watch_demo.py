"""`make demo`, last step: the daemon at work on a temporary copy of the example repository.

1. copies configs/, policies/ and reconciler.yaml to a temporary directory (the
   tracked example repository is never modified);
2. starts `reconciler watch` on it — `api.url: local`, so the embedded emulator
   runs inside the daemon, with its state in the copy's .reconciler/local.db;
3. waits for /readyz and prints the /status summary;
4. edits one value (acme-support, sandbox, opening_hours) and polls /status until
   the daemon reports that page applied (its `last_applied` is set when the API
   acknowledged the PATCH): that moment, measured from the file write, is printed;
5. stops the daemon with SIGTERM (it exits 0), then runs `reconciler plan` on the
   copy against the same embedded emulator state, which must be in sync: proof the
   edited value is live there.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AGENT, ENV, KEY = "acme-support", "sandbox", "opening_hours"
NEW_VALUE = "Mon-Fri 08:00-20:00 (edited by make demo)"


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait(predicate, timeout: float, what: str, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"demo: timed out waiting for {what}")


def page(url: str) -> dict:
    doc = json.loads(get(url + "/status")[1])
    return next(r for r in doc["results"] if r["agent"] == AGENT and r["env"] == ENV)


def main() -> int:
    reconciler = str(Path(sys.executable).with_name("reconciler"))
    with tempfile.TemporaryDirectory(prefix="reconciler-watch-demo-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        for name in ("configs", "policies"):
            shutil.copytree(ROOT / name, repo / name)
        shutil.copy2(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
        log_path = Path(tmp) / "watch.log"
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen([reconciler, "watch", str(repo), "--listen", "127.0.0.1:0", "--log-format", "text"],
                                    stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        try:
            url = wait(lambda: (m := re.search(r"listening on (http://[0-9.:]+)", log_path.read_text())) and m.group(1),
                       30, "the daemon to listen")
            print(f"    daemon listening on {url} (pid {proc.pid}); repository copy in {repo}")
            wait(lambda: get(url + "/readyz")[0] == 200, 60, "/readyz")
            summary = json.loads(get(url + "/status")[1])["summary"]
            print(f"    ready; first sync: {summary}  (live is sync: manual, so it is reported as drift)")
            before = page(url)["last_applied"]
            values = repo / "configs" / AGENT / ENV / "values.yaml"
            text = values.read_text(encoding="utf-8")
            edited = re.sub(rf"(?m)^{KEY}: .*$", f'{KEY}: "{NEW_VALUE}"', text)
            assert edited != text
            started = time.monotonic()
            values.write_text(edited, encoding="utf-8")
            print(f"    edited {values.relative_to(repo)}: {KEY} = {NEW_VALUE!r}")
            wait(lambda: (p := page(url))["last_applied"] != before and p["status"] == "in_sync", 30,
                 "the edit to go live")
            print(f"    live after {1000 * (time.monotonic() - started):.0f} ms "
                  f"(file written -> PATCH acknowledged, as /status reports it)")
            print(f"    status summary: {json.loads(get(url + '/status')[1])['summary']}")
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
        print(f"    stopped with SIGTERM: exit {code}")
        edits = [line for line in log_path.read_text(encoding="utf-8").splitlines()
                 if f"{AGENT}/{ENV}: applied" in line and f"[{KEY!r}]" in line]
        if edits:
            print(f"    log: {edits[-1]}")
        check = subprocess.run([reconciler, "plan", str(repo), "--agent", AGENT, "--env", ENV],
                               capture_output=True, text=True)
        print(f"    reconciler plan {AGENT}/{ENV} on the copy afterwards: exit {check.returncode} "
              f"({'in sync: the value is live' if check.returncode == 0 else 'NOT in sync'})")
        return 0 if code == 0 and check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""A real notification receiver for tests: an HTTP server on 127.0.0.1 that records every POST.

Owned with tests/test_daemon_notifications.py and tests/test_daemon_history.py. ``/fail`` always
answers 500; ``/flaky`` answers 500 to its first ``flaky_failures`` requests, then 204; anything
else 204.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, flaky_failures: int = 0) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.flaky_failures = flaky_failures
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:                      # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer._lock:
                    outer.received.append((self.path, dict(self.headers), body))
                    flaky = sum(1 for p, _, _ in outer.received if p == "/flaky") <= outer.flaky_failures
                fail = self.path == "/fail" or (self.path == "/flaky" and flaky)
                self.send_response(500 if fail else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self._lock:
            return [(h, b) for p, h, b in self.received if p == path]

    def documents(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b in self.bodies(path)]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

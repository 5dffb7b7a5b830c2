"""The daemon's HTTP server under slow clients (reconciler/daemon/serving.py), against a real ``watch``.

500 connections that sent half a request are held open: ``/healthz`` still answers within
100 ms, and every one of them is closed by the server within 10 s (before: all 200 were
still open after 30 s). A request that declares a big body gets 413; oversized headers 400.
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from daemon_helpers import Watch
from e2e_helpers import make_repo, new_agent

from reconciler.daemon import serving

HALF_OPEN = 500


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _healthz_ms(address: tuple[str, int]) -> float:
    began = time.monotonic()
    with socket.create_connection(address, timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    return (time.monotonic() - began) * 1000


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _raw(address: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(request)
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    return answer


def test_probes_answer_while_500_half_open_connections_are_held_and_those_are_dropped(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url, agents=(new_agent(emulator),))
    with Watch(root) as watch:
        watch.wait_ready()
        address = _address(watch.url)
        slow = []
        for _ in range(HALF_OPEN):
            s = socket.create_connection(address, timeout=5)
            s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ")       # headers never finish
            slow.append(s)
        opened = time.monotonic()
        timings = sorted(_healthz_ms(address) for _ in range(5))
        assert timings[len(timings) // 2] < 100, timings                        # the median probe
        while time.monotonic() - opened < 10 and not all(_closed_by_server(s) for s in slow):
            time.sleep(0.25)
        dropped = sum(_closed_by_server(s) for s in slow)
        waited = time.monotonic() - opened
        for s in slow:
            s.close()
        assert dropped == HALF_OPEN, f"{dropped}/{HALF_OPEN} dropped after {waited:.1f}s"
        assert waited < 10
        print(f"probe ms: {timings}; all {HALF_OPEN} dropped after {waited:.1f}s")
        # a body announced beyond the bound is refused unread; oversized headers too
        big = _raw(address, b"POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
                   (serving.MAX_BODY_BYTES + 1))
        assert big.startswith(b"HTTP/1.1 413"), big[:100]
        huge = _raw(address, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (serving.MAX_HEADER_BYTES * 2)
                    + b"\r\n\r\n")
        assert huge.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), huge[:100]
        assert _healthz_ms(address) < 1000

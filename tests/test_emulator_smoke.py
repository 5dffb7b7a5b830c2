"""The fixture itself: a real uvicorn server on loopback, reset per test."""

import httpx


def test_fixture_serves_over_loopback_and_resets(emulator):
    assert emulator.url.startswith("http://127.0.0.1:")
    emulator.seed("agent-1", pages={"sandbox": {"variables": {"a": 1}}})
    assert emulator.page("agent-1", "sandbox")["variables"] == {"a": 1}
    assert emulator.stats()["total"] == 1
    r = httpx.get(f"{emulator.url}/v1/agents/agent-1/real-time-configs", headers={"x-api-key": emulator.api_key})
    assert r.status_code == 200
    emulator.reset()
    assert emulator.stats() == {"total": 0, "by_route": {}}
    r = httpx.get(f"{emulator.url}/v1/agents/agent-1/real-time-configs", headers={"x-api-key": emulator.api_key})
    assert r.status_code == 404


def test_server_sockets_get_tcp_nodelay():
    # asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets; without it every keep-alive
    # response waited ~40 ms for a delayed ACK (Nagle), which skewed every benchmark.
    import socket

    from reconciler.emulator import server

    sock = server.bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()

"""The wire of AgentsApi (httpx) over real loopback sockets.

Every failure a network can produce — a refused port, a name that does not
resolve, a connect or read timeout, a connection dropped mid-answer, a cut body,
an answer that is not HTTP — must reach the layers above (retries, breaker,
typed errors) as the outcome they expect. The server is :mod:`tests.raw_http` (a scripted socket
server) where the emulator would never misbehave that way, the emulator itself
elsewhere. Nothing is mocked or patched.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from raw_http import RawServer, Reply, Request, answer
from reconciler import __version__, errors
from reconciler.api import AgentsApi
from reconciler.model import ClientEnv

KEY = "sk-WIRE-4d1f0b9e77"          # distinctive: must never show up in any text
FAST = (0.01, 0.01, 0.01)
PAGE = {"clientEnv": "sandbox", "schema": {"type": "object"}, "variables": {"n": 1},
        "lastUpdated": "2026-01-01T00:00:00Z"}
AGENT = {"configPages": [PAGE]}


def client(url: str, **kw) -> AgentsApi:
    kw.setdefault("backoffs", FAST)
    return AgentsApi(url, api_key=KEY, **kw)


def read_agent(url: str, **kw) -> tuple[object, AgentsApi, float]:
    """get_agent("a1"): (the result or the error raised, the client, seconds taken)."""
    api = client(url, **kw)

    async def go():
        async with api:
            return await api.get_agent("a1")

    started = time.monotonic()
    try:
        result: object = asyncio.run(go())
    except errors.ApiError as exc:
        result = exc
    return result, api, time.monotonic() - started


def chain(exc: BaseException) -> list[BaseException]:
    out, todo = [], [exc]
    while todo:
        item = todo.pop()
        if item is not None and all(item is not seen for seen in out):
            out.append(item)
            todo += [item.__cause__, item.__context__]
    return out


def assert_no_key(exc: BaseException) -> None:
    for item in chain(exc):
        assert KEY not in str(item) and KEY not in repr(item), (type(item), repr(item))
        for arg in getattr(item, "args", ()):
            assert KEY not in repr(arg)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops new SYNs, so connecting times out."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(filler)
        time.sleep(0.1)
        yield port
        for filler in fillers:
            filler.close()


# -- the same bytes on the wire --------------------------------------------------------------------

def test_the_request_lines_headers_and_bodies_sent():
    def reply(request: Request) -> Reply:
        if request.method == "GET":
            return answer(200, AGENT)
        return answer(200, PAGE)

    async def go(api: AgentsApi) -> None:
        async with api:
            await api.get_agent("a b/..")
            await api.get_agent("..")                     # a dot segment is not folded away
            await api.put_schema("a1", ClientEnv.SANDBOX, {"type": "object", "title": "Café ☕"})
            await api.patch_variables("a1", "sandbox", {"n": 1, "s": "é"})

    with RawServer(reply) as server:
        asyncio.run(go(client(server.url)))
        sent = [(r.method, r.target, sorted((k.lower(), v) for k, v in r.headers), r.body)
                for r in server.requests]
    [get, dots, put, patch] = sent
    assert get[:2] == ("GET", "/v1/agents/a%20b%2F../real-time-configs")
    assert dots[:2] == ("GET", "/v1/agents/%2E%2E/real-time-configs")
    headers = dict(get[2])
    assert headers["x-api-key"] == KEY and headers["user-agent"] == f"rtc-reconciler/{__version__}"
    assert headers["accept"] == "application/json" and headers["accept-encoding"] == "gzip, deflate"
    assert "content-type" not in headers
    assert put[:2] == ("PUT", "/v1/agents/a1/real-time-configs/sandbox/schema")
    assert dict(put[2])["content-type"] == "application/json"
    assert put[3] == '{"schema":{"type":"object","title":"Café ☕"}}'.encode()
    assert patch[3] == '{"variables":{"n":1,"s":"é"}}'.encode()
    ids = [dict(request[2])["x-polyai-correlation-id"] for request in sent]
    assert len(set(ids)) == 4 and all(re.fullmatch(r"rtc-[0-9a-f-]{36}", i) for i in ids)   # one per request


def test_put_before_patch_through_the_cli_on_the_served_emulator(emulator, tmp_path):
    from tests.e2e_helpers import cli, make_repo

    emulator.seed("acme")
    root = make_repo(tmp_path / "repo", emulator.url, agents=("acme",))
    cli(root, "apply", ".", "--auto-approve", check_codes=(0,))
    log = [(r["method"], r["path"].rsplit("/", 2)[-2:]) for r in emulator.requests() if r["method"] != "GET"]
    assert log and all(m in ("PUT", "PATCH") for m, _ in log)
    for env in ("sandbox", "pre-release", "live"):
        mine = [m for m, (e, _) in log if e == env]
        assert mine == ["PUT", "PATCH"], (env, log)


# -- no server -------------------------------------------------------------------------------------

def test_a_refused_port_opens_the_breaker_with_connection_refused():
    result, api, elapsed = read_agent(f"http://127.0.0.1:{closed_port()}", backoffs=(0.01,) * 5)
    assert isinstance(result, errors.UnreachableError)
    assert "cannot reach http://127.0.0.1:" in str(result) and "connection refused (3 attempts" in str(result)
    assert api.request_count == 3 and elapsed < 10
    assert_no_key(result)


def test_a_name_that_does_not_resolve_is_host_name_not_found():
    result, api, _ = read_agent("http://no-such-host.invalid", backoffs=(0.01,) * 5)
    assert isinstance(result, errors.UnreachableError), result
    assert "cannot reach http://no-such-host.invalid: host name not found (3 attempts" in str(result)


def test_a_connect_timeout_says_so_after_the_timeout(full_backlog):
    result, api, elapsed = read_agent(f"http://127.0.0.1:{full_backlog}", timeout=0.4, backoffs=(0.01,) * 5)
    assert isinstance(result, errors.UnreachableError), result
    assert "connection timed out after 0.4 s (3 attempts" in str(result)
    assert api.request_count == 3
    assert 3 * 0.4 - 0.1 <= elapsed < 3 * 0.4 + 8          # each attempt waited its timeout, no longer


def test_a_silent_server_is_a_read_timeout_after_api_timeout():
    with RawServer(lambda request: None) as server:
        result, api, elapsed = read_agent(server.url, timeout=0.4, backoffs=(0.01,) * 5)
        seen = len(server.requests)
    assert isinstance(result, errors.UnreachableError), result
    assert "no answer within 0.4 s (3 attempts" in str(result)
    assert api.request_count == 3 == seen                     # each request reached the server
    assert 3 * 0.4 - 0.1 <= elapsed < 3 * 0.4 + 8


# -- a server that breaks off ---------------------------------------------------------------------

CUT = {
    "cut body": lambda request: answer(200, b'{"configPages": [', length=400, close=True),
    "headers only": lambda request: answer(200, b"", length=50, close=True),
    "half a header block": lambda request: Reply(b"HTTP/1.1 200 OK\r\nContent-Le", close=True),
    "closed without a word": lambda request: Reply(b"", close=True),
    "not HTTP": lambda request: Reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", close=True),
}


@pytest.mark.parametrize("case", list(CUT))
def test_a_broken_off_answer_is_retried_then_a_transport_error(case):
    with RawServer(CUT[case]) as server:
        result, api, _ = read_agent(server.url)
        seen = len(server.requests)
    assert type(result) is errors.TransportError, result
    assert result.status is None and result.path == "/v1/agents/a1/real-time-configs"
    assert api.request_count == seen == len(FAST) + 1          # retried by us (counted), never by the library
    assert not api.breaker.is_open and api.breaker.trips == 0  # a busy server, not a missing one
    assert isinstance(result.__cause__, httpx.TransportError)
    assert_no_key(result)


def test_a_dropped_connection_then_an_answer_converges():
    replies = iter([CUT["cut body"], CUT["closed without a word"]])

    def reply(request: Request) -> Reply:
        return next(replies, lambda r: answer(200, AGENT))(request)

    with RawServer(reply) as server:
        result, api, _ = read_agent(server.url)
    assert result.pages[ClientEnv.SANDBOX].variables == {"n": 1}, result
    assert api.request_count == 3


def test_a_body_that_cannot_be_decoded_is_an_api_error_not_retried():
    with RawServer(lambda request: answer(200, b"not gzip at all", headers={"Content-Encoding": "gzip"})) as server:
        result, api, _ = read_agent(server.url)
    assert type(result) is errors.ApiError and "DecodingError" in result.message, result
    assert api.request_count == 1


# -- answers ---------------------------------------------------------------------------------------

def test_a_429_with_retry_after_pauses_then_succeeds():
    replies = iter([answer(429, {"success": False, "error_code": "RATE_LIMITED", "error_message": "slow down"},
                           headers={"Retry-After": "1"})])

    with RawServer(lambda request: next(replies, None) or answer(200, AGENT)) as server:
        result, api, elapsed = read_agent(server.url)
        seen = len(server.requests)
    assert result.pages[ClientEnv.SANDBOX].variables == {"n": 1}, result
    assert seen == api.request_count == 2 and api.gate.pauses == 1
    assert elapsed >= 0.95                                     # the server's Retry-After, not our 10 ms


def test_a_5xx_envelope_is_retried_then_a_typed_error_with_its_id():
    envelope = {"success": False, "error": "Service Unavailable", "error_id": "corr-77",
                "error_code": "UPSTREAM_DOWN", "error_message": "the config store is down", "data": None}
    with RawServer(lambda request: answer(503, envelope)) as server:
        result, api, _ = read_agent(server.url)
        seen = len(server.requests)
    assert type(result) is errors.ServerError, result
    assert (result.status, result.error_id, result.error_code) == (503, "corr-77", "UPSTREAM_DOWN")
    assert "the config store is down" in str(result)
    assert seen == api.request_count == len(FAST) + 1 and api.breaker.trips == 0
    assert isinstance(result.__cause__, httpx.HTTPStatusError) and result.__cause__.response.status_code == 503


def test_an_answer_that_is_not_json_is_an_api_error_not_retried():
    with RawServer(lambda request: answer(200, b"<html>maintenance</html>",
                                          headers={"Content-Type": "text/html"})) as server:
        result, api, _ = read_agent(server.url)
    assert type(result) is errors.ApiError and result.message == "response is not JSON", result
    assert result.status == 200 and api.request_count == 1


def test_an_empty_204_is_none_and_a_3xx_is_not_followed():
    replies = iter([answer(204), answer(302, b"", headers={"Location": "http://127.0.0.1:9/elsewhere"})])
    with RawServer(lambda request: next(replies)) as server:
        api = client(server.url)

        async def go():
            async with api:
                first = await api._request("GET", "/v1/x")
                try:
                    await api._request("GET", "/v1/y")
                except errors.ApiError as exc:
                    return first, exc
        first, redirect = asyncio.run(go())
        seen = [r.target for r in server.requests]
    assert first is None
    assert redirect.status == 302 and seen == ["/v1/x", "/v1/y"]


# -- the key ---------------------------------------------------------------------------------------

def _echo(request: Request) -> Reply:
    """Everything a hostile or broken server could do with the key it was sent."""
    key = request.header("x-api-key") or ""
    kind = request.target.rsplit("/", 1)[-1]
    if kind == "status":
        return answer(500, {"success": False, "error_message": f"bad key {key}", "error_id": key},
                      headers={"X-Echo": key, "X-PolyAI-Correlation-Id": key})
    if kind == "long":
        return answer(502, f"<html>{'x' * 500} {key}</html>".encode())
    if kind == "header":
        return Reply(f"HTTP/1.1 200 OK\r\nX-Bad\x01: {key}\r\nContent-Length: 2\r\n\r\n{{}}".encode(), close=True)
    if kind == "status-line":
        return Reply(f"HTTP/1.1 {key} nope\r\n\r\n".encode(), close=True)
    if kind == "cut":
        return answer(200, f'{{"key": "{key}", '.encode(), length=999, close=True)
    return answer(200, f"not json {key}".encode())


def test_the_key_never_appears_even_when_the_server_echoes_it(caplog):
    caught: list[BaseException] = []
    with RawServer(_echo) as server:
        api = client(server.url, backoffs=(0.01,))

        async def go():
            async with api:
                for kind in ("status", "long", "header", "status-line", "cut", "json"):
                    try:
                        await api._request("GET", f"/v1/{kind}")
                    except errors.ApiError as exc:
                        caught.append(exc)

        with caplog.at_level(logging.DEBUG):
            asyncio.run(go())
    assert len(caught) == 6
    for exc in caught:
        assert_no_key(exc)
        assert KEY not in str(getattr(exc, "detail", "") or "")
    assert KEY not in repr(api)
    # Our own log lines (a library's DEBUG trace may quote what the server sent).
    logged = [r for r in caplog.records if r.name.startswith("reconciler")]
    assert logged and all(KEY not in r.getMessage() for r in logged)
    assert any("***" in str(exc) for exc in caught)               # it was there, and was redacted


# -- TLS -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 with its own self-signed certificate (made with openssl)."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (Debian's openssl package makes the test certificate)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:                        # noqa: N802 - http.server's name
            body = json.dumps(AGENT).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}", cert
    server.shutdown()
    server.server_close()


def test_tls_is_verified_against_certifi_or_ssl_cert_file(tls_server, monkeypatch):
    url, cert = tls_server
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    result, api, _ = read_agent(url, backoffs=(0.01,) * 5)
    assert isinstance(result, errors.UnreachableError), result     # a certificate nobody vouches for
    assert "cannot connect" in str(result)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))                 # ... unless the environment trusts it
    result, api, _ = read_agent(url)
    assert result.pages[ClientEnv.SANDBOX].variables == {"n": 1}, result



def test_a_plain_http_target_loads_no_ca_bundle_and_its_context_trusts_nobody(tls_server):
    """``http://``: no CA bundle loaded (~40 ms of CPU a run), and the context it gets instead verifies
    certificates and host names against an empty trust store — TLS through it can only fail."""
    from reconciler.api import wire

    url, _ = tls_server
    plain, secure = wire.tls_context("http://127.0.0.1:9"), wire.tls_context(url)
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0
    assert secure.verify_mode == ssl.CERT_REQUIRED and secure.check_hostname
    assert secure.cert_store_stats()["x509_ca"] > 0                 # certifi (or SSL_CERT_FILE) loaded
    host, port = url.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            plain.wrap_socket(raw, server_hostname=host)

# -- the connections (wire.Connections) -------------------------------------------------------------

def agent_reply(_request: Request) -> Reply:
    return answer(200, AGENT)


def test_connections_are_kept_alive_and_never_more_than_concurrency():
    with RawServer(agent_reply) as server:
        async def go():
            async with client(server.url, concurrency=4) as api:
                await asyncio.gather(*(api.get_agent(f"a{i}") for i in range(24)))
                opened = server.connections
                for i in range(5):                      # one at a time: the same connection again
                    await api.get_agent(f"b{i}")
                return opened, api.request_count
        opened, sent = asyncio.run(go())
        assert sent == 29 and len(server.requests) == 29
        assert 1 <= opened <= 4 and server.connections == opened


def test_a_connection_the_server_closed_is_not_reused_and_costs_no_retry():
    """One server says ``Connection: close``; the other closes without a word after each answer."""
    for reply in (lambda r: answer(200, AGENT, close=True), lambda r: Reply(answer(200, AGENT).data, close=True)):
        with RawServer(reply) as server:
            async def go():
                async with client(server.url, concurrency=1) as api:
                    for i in range(3):
                        await api.get_agent(f"a{i}")
                        await asyncio.sleep(0.05)       # the close reaches the client while it is idle
                    return api.request_count
            assert asyncio.run(go()) == 3
            assert server.connections == 3 and len(server.requests) == 3


def test_an_idle_connection_older_than_the_keepalive_is_not_reused():
    from reconciler.api import wire

    async def twice(keepalive: float) -> None:
        connections = wire.Connections(keepalive_seconds=keepalive)
        try:
            for _ in range(2):
                response = await connections.handle_async_request(httpx.Request("GET", server.url + "/x"))
                assert response.status_code == 200 and json.loads(await response.aread()) == AGENT
        finally:
            await connections.aclose()

    with RawServer(agent_reply) as server:
        asyncio.run(twice(60.0))
        assert server.connections == 1
        asyncio.run(twice(0.0))
        assert server.connections == 3


def test_chunked_gzip_answers_after_an_informational_one_are_decoded_by_httpx():
    import gzip

    body = gzip.compress(json.dumps(AGENT).encode())
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    data = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
    with RawServer(lambda r: Reply(data)) as server:
        result, api, _ = read_agent(server.url)
    assert result.pages[ClientEnv.SANDBOX].variables == {"n": 1}, result


def test_a_client_run_imports_neither_httpcore_nor_anyio(emulator):
    """The CPU claim of api/wire.py: the requests never go through httpx's default transport."""
    emulator.seed("acme")
    program = ("import asyncio, sys\n"
               "from reconciler.api import AgentsApi\n"
               "async def go():\n"
               f"    async with AgentsApi({emulator.url!r}, api_key='k') as api:\n"
               "        return await api.get_agent('acme')\n"
               "agent = asyncio.run(go())\n"
               "assert len(agent.pages) == 3, agent\n"
               "print(sorted(m for m in ('httpcore', 'anyio') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- nothing left open -----------------------------------------------------------------------------

def test_cli_runs_leave_no_unclosed_session_behind(emulator, tmp_path):
    """plan, apply and a failing plan, with ResourceWarnings as errors: stderr says nothing of them."""
    from tests.e2e_helpers import API_KEY, make_repo

    for agent in ("acme", "bella"):
        emulator.seed(agent)
    root = make_repo(tmp_path / "repo", emulator.url, agents=("acme", "bella"))
    dead = make_repo(tmp_path / "dead", f"http://127.0.0.1:{closed_port()}", agents=("acme",))
    env = {**os.environ, "POLYAI_API_KEY": API_KEY, "NO_COLOR": "1"}
    env.pop("RECONCILER_API_URL", None)
    for where, args, codes in ((root, ("plan", "."), (2,)), (root, ("apply", ".", "--auto-approve"), (0,)),
                               (root, ("plan", "."), (0,)), (dead, ("plan", "."), (1,))):
        proc = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-m", "reconciler", *args],
                              cwd=where, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode in codes, (args, proc.returncode, proc.stderr[-2000:])
        for word in ("Unclosed", "ResourceWarning", "Traceback", "Exception ignored"):
            assert word not in proc.stderr, (args, proc.stderr[-2000:])


# -- reading cheaply ---------------------------------------------------------------------------------

def test_equal_live_schemas_are_one_object_and_1_true_and_1_0_stay_apart():
    schemas = {"a1": {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}},
               "a2": {"type": "object", "properties": {"n": {"type": "integer", "default": 1}}},
               "a3": {"type": "object", "properties": {"n": {"type": "integer", "default": True}}},
               "a4": {"type": "object", "properties": {"n": {"type": "integer", "default": 1.0}}}}

    def reply(request: Request) -> Reply:
        schema = schemas[request.target.split("/")[3]]
        return answer(200, {"configPages": [{**PAGE, "clientEnv": env, "schema": schema}
                                            for env in ("sandbox", "live")]})

    async def go(api: AgentsApi) -> dict:
        async with api:
            return {a: await api.get_agent(a) for a in schemas}

    with RawServer(reply) as server:
        read = asyncio.run(go(client(server.url)))
    pages = {a: [read[a].pages[e].schema for e in (ClientEnv.SANDBOX, ClientEnv.LIVE)] for a in schemas}
    assert pages["a1"][0] is pages["a1"][1] is pages["a2"][0] is pages["a2"][1]    # one text, one object
    for agent in ("a3", "a4"):
        assert pages[agent][0] is not pages["a1"][0]
        assert json.dumps(pages[agent][0]) == json.dumps(schemas[agent])            # exactly what was sent
    assert pages["a3"][0] is not pages["a4"][0]


def test_pages_of_unknown_or_malformed_environments_are_ignored():
    pages = [{"clientEnv": ["sandbox"]}, {"clientEnv": "staging"}, {"clientEnv": None}, "junk", PAGE]
    with RawServer(lambda request: answer(200, {"configPages": pages})) as server:
        result, _, _ = read_agent(server.url)
    assert set(result.pages) == {ClientEnv.SANDBOX}, result


def test_a_request_after_aclose_fails_with_a_typed_error(emulator):
    emulator.seed("after-close", {"sandbox": {"schema": {"type": "object"}, "variables": {}}})

    async def go():
        api = AgentsApi(emulator.url, api_key="k")
        assert (await api.get_agent("after-close")).agent == "after-close"
        await api.aclose()
        with pytest.raises(errors.ApiError) as info:
            await api.get_agent("after-close")          # a task nobody awaited, still running after close
        assert "the client is closed" in str(info.value) and api.request_count == 1

    asyncio.run(go())

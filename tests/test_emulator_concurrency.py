"""100 concurrent mixed requests over loopback: no 5xx, no lost write, ordered lastUpdated."""

import asyncio

import httpx


async def _storm(url: str, key: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=url, headers={"x-api-key": key}, limits=limits, timeout=60) as client:
        calls = []
        for i in range(100):
            agent = ("a", "b", "c")[i % 3]
            page = f"/v1/agents/{agent}/real-time-configs/{('sandbox', 'live')[i % 2]}"
            if i % 4 == 0:
                calls.append(client.get(f"/v1/agents/{agent}/real-time-configs"))
            elif i % 4 == 1:
                calls.append(client.put(page + "/schema", json={"schema": {"type": "object"}}))
            else:
                calls.append(client.patch(page + "/variables", json={"variables": {f"k{i}": i}}))
        return list(await asyncio.gather(*calls))


def test_concurrent_mixed_requests_lose_no_write(emulator):
    for agent in "abc":
        emulator.seed(agent)
    responses = asyncio.run(_storm(emulator.url, emulator.api_key))
    assert [r.status_code for r in responses] == [200] * 100
    for i, r in enumerate(responses):
        if i % 4 in (2, 3):
            agent, env = ("a", "b", "c")[i % 3], ("sandbox", "live")[i % 2]
            assert f"k{i}" in emulator.peek(agent, env)["variables"], i
    # Every acknowledged write to one page got its own, later lastUpdated.
    by_page: dict = {}
    for r in responses:
        if r.request.method in ("PUT", "PATCH"):
            by_page.setdefault(r.request.url.path.rsplit("/", 1)[0], []).append(r.json()["lastUpdated"])
    for stamps in by_page.values():
        assert len(set(stamps)) == len(stamps)
    assert emulator.stats()["total"] == 100

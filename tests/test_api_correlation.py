"""Correlation ids: every request carries ``X-PolyAI-Correlation-Id: rtc-<uuid4>``, a failure keeps its id.

Over the loopback emulator: the emulator logs the id it received and echoes it
in ``error_id``, minting one only when none (or none usable) was sent; a failed
request's id is in its error message, in the executor's finding and in the JSON
report (``request_id``), for a failed write and for a failed read in ``plan``.
"""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from e2e_helpers import API_KEY, cli_json, desired_state, full, make_plan, make_repo, new_agent, converge

from reconciler import errors
from reconciler.api import AgentsApi
from reconciler.model import ClientEnv
from reconciler.planning.plan import EnvPlan, OutcomeState, Plan
from reconciler.report import json as report_json

RTC_ID = re.compile(r"rtc-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
HEADER = "X-PolyAI-Correlation-Id"


def test_every_request_carries_its_own_id_and_the_emulator_logs_it(emulator):
    agent = new_agent(emulator)
    emulator.reset_stats()

    async def go() -> None:
        async with AgentsApi(emulator.url, api_key=API_KEY) as api:
            await api.get_agent(agent)
            await api.put_schema(agent, ClientEnv.SANDBOX, {"type": "object"})
            await api.patch_variables(agent, ClientEnv.SANDBOX, {"k": 1})
    asyncio.run(go())

    ids = [r["correlation_id"] for r in emulator.requests()]
    assert len(ids) == 3 and all(RTC_ID.fullmatch(i) for i in ids) and len(set(ids)) == 3


def test_a_failed_request_keeps_its_id_which_the_emulator_echoes(emulator):
    emulator.reset_stats()

    async def go() -> errors.ApiError:
        async with AgentsApi(emulator.url, api_key=API_KEY) as api:
            with pytest.raises(errors.NotFoundError) as caught:
                await api.get_agent("nobody-here")
            return caught.value
    exc = asyncio.run(go())

    assert RTC_ID.fullmatch(exc.request_id) and exc.error_id == exc.request_id
    assert str(exc).endswith(f"(request_id {exc.request_id})")
    assert [r["correlation_id"] for r in emulator.requests()] == [exc.request_id]


def test_each_retry_is_a_request_of_its_own_and_the_error_names_the_last(emulator):
    emulator.seed("retry-me")
    emulator.set_faults(error_rate=1.0)
    emulator.reset_stats()

    async def go() -> errors.ApiError:
        async with AgentsApi(emulator.url, api_key=API_KEY, backoffs=(0.01, 0.01)) as api:
            with pytest.raises(errors.ServerError) as caught:
                await api.get_agent("retry-me")
            return caught.value
    exc = asyncio.run(go())

    ids = [r["correlation_id"] for r in emulator.requests()]
    assert len(ids) == 3 and len(set(ids)) == 3 and ids[-1] == exc.request_id


@pytest.mark.parametrize("sent", [None, "bad id with spaces", "x" * 500])
def test_the_emulator_mints_an_id_only_when_none_usable_was_sent(emulator, sent):
    emulator.reset_stats()
    headers = {"x-api-key": API_KEY, **({HEADER: sent} if sent else {})}
    response = httpx.get(f"{emulator.url}/v1/agents/nobody/real-time-configs", headers=headers)
    minted = response.headers[HEADER]
    assert uuid.UUID(minted) and minted != sent
    assert response.json()["error_id"] == minted
    assert emulator.requests()[-1]["correlation_id"] == minted


def test_the_emulator_echoes_a_clients_own_id(emulator):
    sent = f"adk-{uuid.uuid4()}"
    response = httpx.get(f"{emulator.url}/v1/agents/nobody/real-time-configs",
                         headers={"x-api-key": API_KEY, HEADER: sent})
    assert response.headers[HEADER] == sent and response.json()["error_id"] == sent


def test_a_failed_write_names_its_request_id_in_the_message_and_the_json_report(emulator):
    agent = new_agent(emulator)
    desired = desired_state(full(agent))
    plan = make_plan(emulator.url, desired)
    # A schema the API rejects (400, not retried): the planner would never send it; a plan is a value.
    broken = tuple(EnvPlan(r.agent, r.env, r.status, schema_put={"type": "no-such-type"},
                           live_last_updated=r.live_last_updated) if r.env is ClientEnv.SANDBOX else r
                   for r in plan.results)
    emulator.reset_stats()
    result = converge(emulator.url, desired, plan_override=Plan(broken, target=plan.target))

    [failed] = [o for o in result.outcomes if o.state is OutcomeState.FAILED]
    [finding] = failed.errors
    [put] = [r for r in emulator.requests() if r["method"] == "PUT"]
    assert finding.request_id == put["correlation_id"] and RTC_ID.fullmatch(finding.request_id)
    assert f"(request_id {finding.request_id})" in finding.message
    doc = report_json.document(result, command="apply")
    [row] = [r for r in doc["results"] if r["env"] == "sandbox"]
    assert row["outcome"]["errors"][0]["request_id"] == finding.request_id


def test_plan_json_names_the_request_id_of_a_failed_read(emulator, tmp_path):
    root = make_repo(tmp_path / "repo", emulator.url, agents=("never-seeded",))
    emulator.reset_stats()
    code, report = cli_json(root, "plan", ".")
    assert code == 1
    [get] = [r for r in emulator.requests() if r["method"] == "GET"]
    read_errors = [e for r in report["results"] for e in r["errors"] if e["code"].startswith("api.")]
    assert read_errors and {e.get("request_id") for e in read_errors} == {get["correlation_id"]}
    assert all(get["correlation_id"] in e["message"] for e in read_errors)

"""reconciler.apply.verify on plain values: canonical comparison, what is predicted, what is shown (masked)."""

from __future__ import annotations

from reconciler.apply import verify
from reconciler.model import ClientEnv, LivePage
from reconciler.planning.plan import EnvPlan, Status

SCHEMA = {"type": "object", "required": ["b", "a"],
          "properties": {"a": {"type": "string"}, "n": {"type": "number"},
                         "auth": {"type": "object", "properties": {"token": {"type": "string", "writeOnly": True}}}}}
TOKEN = "wo-7Hq2Lp9Zx4Kd8Vm3"
LIVE = LivePage(ClientEnv.SANDBOX, SCHEMA, {"a": "x", "n": 2, "auth": {"token": TOKEN, "user": "u"}}, "t0")


def env_plan(**kw) -> EnvPlan:
    base = dict(agent="a", env=ClientEnv.SANDBOX, status=Status.CHANGES, variables_patch={"a": "y"},
                live_page=LIVE)
    return EnvPlan(**{**base, **kw})


def answer(variables, schema=SCHEMA) -> dict:
    return {"clientEnv": "sandbox", "schema": schema, "variables": variables, "lastUpdated": "t1"}


def test_semantically_equal_answers_are_the_predicted_page():
    plan = env_plan(variables_patch={"n": 2.0, "a": "y"})
    reordered = {"type": "object", "required": ["a", "b"], "properties": dict(reversed(SCHEMA["properties"].items()))}
    got = answer({"auth": {"user": "u", "token": TOKEN}, "n": 2, "a": "y"}, schema=reordered)
    assert verify.difference(verify.after_patch(plan, put_done=False), got, plan) is None


def test_a_type_change_is_a_difference():
    plan = env_plan(variables_patch={"n": 1})
    got = answer({**LIVE.variables, "n": True})
    detail = verify.difference(verify.after_patch(plan, put_done=False), got, plan)
    assert detail == "variables.n: planned 1, the answer has true"


def test_replaced_variables_show_every_missing_key_masked():
    plan = env_plan()
    detail = verify.difference(verify.after_patch(plan, put_done=False), answer({"a": "y"}), plan)
    assert "variables.n: missing from the answer (planned 2)" in detail
    assert 'variables.auth: missing from the answer (planned {"token": "***", "user": "u"})' in detail
    assert TOKEN not in detail


def test_a_put_answer_must_keep_the_variables_and_hold_the_schema_sent():
    new_schema = {**SCHEMA, "title": "new"}
    plan = env_plan(schema_put=new_schema, variables_patch={})
    assert verify.difference(verify.after_put(plan), answer(LIVE.variables, new_schema), plan) is None
    detail = verify.difference(verify.after_put(plan), answer({}, new_schema), plan)
    assert "variables.a: missing from the answer" in detail
    detail = verify.difference(verify.after_put(plan), answer(LIVE.variables, SCHEMA), plan)
    assert detail == 'schema.title: missing from the answer (planned "new")'


def test_without_a_live_page_only_the_patched_keys_are_checked():
    plan = env_plan(live_page=None, variables_patch={"a": " y "})
    assert verify.difference(verify.after_patch(plan, put_done=False), answer({"a": " y "}), plan) is None
    detail = verify.difference(verify.after_patch(plan, put_done=False), answer({"a": "y"}), plan)
    assert detail == 'variables.a: planned " y ", the answer has "y"'


def test_no_fragment_of_a_sensitive_value_even_inside_a_shown_value():
    # The answer moved the secret into a key that is not sensitive: it is still never shown, not even cut.
    plan = env_plan()
    got = answer({"a": "y" + TOKEN * 10, "n": 2, "auth": {"token": TOKEN, "user": "u"}})
    detail = verify.difference(verify.after_patch(plan, put_done=False), got, plan)
    assert "variables.a:" in detail
    assert not [TOKEN[i:i + 8] for i in range(len(TOKEN) - 7) if TOKEN[i:i + 8] in detail]


def test_an_answer_that_is_no_page_is_a_difference():
    plan = env_plan()
    assert verify.difference(verify.after_patch(plan, put_done=False), None, plan) is not None

"""The re-read rule: a page edited after it was planned is detected, re-planned once, never silently overwritten."""

from __future__ import annotations

from reconciler.planning import planner
from reconciler.model import ClientEnv
from reconciler.planning.plan import OutcomeState
from e2e_helpers import SCHEMA, converge, desired_state, full, new_agent, settings_for, values

SB, PR, LV = ClientEnv.SANDBOX, ClientEnv.PRE_RELEASE, ClientEnv.LIVE
SCHEMA_WITH_NOTE = {**SCHEMA, "description": "with a note"}


def _page_gets(requests, agent):
    return [r for r in requests if r["method"] == "GET" and r["path"].startswith(f"/v1/agents/{agent}/real-time-configs/")]


def test_old_plan_rereads_each_page_once_before_writing(emulator):
    agent = new_agent(emulator)
    converge(emulator.url, desired_state(full(agent)))
    spec = full(agent, greeting="changed everywhere")
    emulator.reset_stats()
    result = converge(emulator.url, desired_state(spec), reread=True)
    assert result.ok and not any(o.replanned for o in result.outcomes)
    gets = _page_gets(emulator.requests(), agent)
    assert [g["path"].rsplit("/", 1)[1] for g in gets] == ["sandbox", "pre-release", "live"]
    # Each re-read comes right before that page's write.
    log = [(r["method"], r["path"]) for r in emulator.requests() if f"/{agent}/" in r["path"]]
    for env in ("sandbox", "pre-release", "live"):
        i = log.index(("GET", f"/v1/agents/{agent}/real-time-configs/{env}"))
        assert log[i + 1] == ("PATCH", f"/v1/agents/{agent}/real-time-configs/{env}/variables")


def test_fresh_plan_is_not_reread(emulator):
    agent = new_agent(emulator)
    emulator.reset_stats()
    converge(emulator.url, desired_state(full(agent)), reread=False)
    assert _page_gets(emulator.requests(), agent) == []


def test_edit_between_plan_and_apply_is_detected_and_replanned_with_a_warning(emulator):
    agent = new_agent(emulator)
    converge(emulator.url, desired_state(full(agent)))
    spec = full(agent)
    spec[agent]["pre-release"] = (SCHEMA_WITH_NOTE, values("pre-release"))

    def ui_edit():
        # Someone changes a value in the Configuration Builder after the plan was made.
        emulator.edit_page(agent, "pre-release", variables={**values("pre-release"), "max_hold": 42})

    result = converge(emulator.url, desired_state(spec), reread=True, before_apply=ui_edit)
    got = {o.env: o for o in result.outcomes}
    assert got[SB].state is OutcomeState.IN_SYNC and not got[SB].replanned
    assert got[PR].state is OutcomeState.APPLIED and got[PR].replanned
    warning = got[PR].warnings[0]
    assert warning.code == "apply.replanned"
    assert "page changed since it was planned (lastUpdated" in warning.message and "re-planned" in warning.message
    # The re-plan saw the edit: the executed plan says it puts max_hold back, and says so in its diff.
    executed = {r.env: r for r in result.plan.results}
    assert executed[PR].variables_patch == {"max_hold": 120}
    assert emulator.peek(agent, "pre-release")["variables"]["max_hold"] == 120
    assert emulator.peek(agent, "pre-release")["schema"] == SCHEMA_WITH_NOTE


def test_page_changing_again_after_replan_fails_and_overwrites_nothing(emulator):
    agent = new_agent(emulator)
    converge(emulator.url, desired_state(full(agent)))
    spec = full(agent, greeting="new greeting")
    desired = desired_state(spec)
    edits = iter(range(100, 200))

    def ui_edit():
        emulator.edit_page(agent, "sandbox", variables={**values("sandbox"), "max_hold": next(edits)})

    def replan_racing_with_ui(name, live):
        ui_edit()                     # the UI keeps editing while we re-plan
        envs = (SB, PR, LV)
        return planner.plan(desired, {name: live}, settings_for(emulator.url), agents=[name], envs=envs,
                            target="x").for_agent(name)

    result = converge(emulator.url, desired, reread=True, before_apply=ui_edit, replan=replan_racing_with_ui)
    got = {o.env: o for o in result.outcomes}
    assert got[SB].state is OutcomeState.FAILED and got[SB].errors[0].code == "apply.page_changed"
    assert "changed again" in got[SB].errors[0].message
    assert got[PR].state is got[LV].state is OutcomeState.SKIPPED
    page = emulator.peek(agent, "sandbox")["variables"]
    assert page["greeting"] == values("sandbox")["greeting"] and page["max_hold"] == 101

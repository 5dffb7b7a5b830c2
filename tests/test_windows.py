"""Sync windows and suspend (pure): may a page be written at T, and until when; the cron matcher."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from planner_cases import LV, SB
from reconciler import governance
from reconciler.apply import cron, windows
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv
from reconciler.planning.plan import EnvPlan, Plan, Status
from reconciler.settings import load_settings

UTC = dt.timezone.utc
MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)           # a Monday


def rule(kind="deny", schedule="0 9 * * mon-fri", duration=8 * 3600, tz="UTC", envs=("live",), agents=("*",),
         manual=False):
    return governance.WindowRule(kind, schedule, duration, tz, governance.Scope(agents, envs), manual)


def gov(*rules, suspend=()):
    return governance.Governance(windows=rules, suspend=suspend)


def test_cron_fields_ranges_steps_names_and_either_day_rule():
    c = cron.parse("*/15 9-17 1 * mon")
    assert c.minutes == {0, 15, 30, 45} and c.hours == set(range(9, 18))
    assert c.matches(dt.datetime(2026, 3, 2, 9, 15))        # Monday the 2nd (day of week)
    assert c.matches(dt.datetime(2026, 4, 1, 9, 0))         # the 1st, a Wednesday (day of month)
    assert not c.matches(dt.datetime(2026, 3, 3, 9, 0))
    assert cron.parse("0 0 * * 7").weekdays == {0} and cron.parse("0 0 * dec sun").months == {12}
    assert not cron.parse("0 0 * * 1-5").matches_day(dt.date(2026, 3, 7))     # Saturday


@pytest.mark.parametrize("bad", ["* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "*/0 * * * *",
                                 "5-1 * * * *", "a * * * *", "* * * foo *"])
def test_bad_cron_is_refused(bad):
    with pytest.raises(cron.CronError):
        cron.parse(bad)


def test_a_deny_window_holds_until_it_closes_and_only_its_scope():
    cal = windows.Calendar(gov(rule()), MONDAY_10)
    hold = cal.hold("acme", LV)
    assert hold is not None and hold.until == dt.datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
    assert "deny window" in hold.text() and "2026-03-02T17:00:00Z" in hold.text() and not hold.overridable
    assert cal.hold("acme", SB) is None                                  # other environment
    assert windows.Calendar(gov(rule()), MONDAY_10.replace(hour=17)).hold("acme", LV) is None   # end is open
    assert windows.Calendar(gov(rule()), MONDAY_10.replace(hour=8, minute=59)).hold("acme", LV) is None


def test_allow_windows_hold_outside_and_deny_wins_inside():
    allow = rule("allow", "0 22 * * *", 4 * 3600, manual=True)
    hold = windows.Calendar(gov(allow), MONDAY_10).hold("acme", LV)
    assert hold.until == dt.datetime(2026, 3, 2, 22, 0, tzinfo=UTC) and hold.overridable
    assert windows.Calendar(gov(allow), MONDAY_10.replace(hour=23)).hold("acme", LV) is None
    deny = rule("deny", "30 22 * * *", 3600)
    hold = windows.Calendar(gov(allow, deny), MONDAY_10.replace(hour=22, minute=45)).hold("acme", LV)
    assert hold.until == dt.datetime(2026, 3, 2, 23, 30, tzinfo=UTC)         # deny ends inside the allow window


def test_time_zone_and_overlapping_denies():
    london = rule(schedule="0 9 * * *", duration=3600, tz="Europe/London")
    summer = dt.datetime(2026, 7, 1, 8, 30, tzinfo=UTC)                      # 09:30 BST
    assert windows.Calendar(gov(london), summer).hold("a", LV).until == dt.datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    two = gov(rule(schedule="0 9 * * *", duration=3600), rule(schedule="30 9 * * *", duration=3600))
    assert windows.Calendar(two, MONDAY_10.replace(hour=9, minute=45)).hold("a", LV).until == \
        dt.datetime(2026, 3, 2, 10, 30, tzinfo=UTC)


def test_suspend_is_never_overridable_and_agent_globs():
    rules = gov(suspend=(governance.Scope(("legacy-*",), ()),))
    hold = windows.Calendar(rules, MONDAY_10).hold("legacy-1", SB)
    assert hold.suspended and hold.until is None and not hold.overridable
    assert windows.Calendar(rules, MONDAY_10).hold("acme", SB) is None


def _plan():
    page = EnvPlan(agent="acme", env=ClientEnv.LIVE, status=Status.CHANGES, variables_patch={"k": 1})
    return Plan(results=(page,), target="local")


def test_gate_refuses_or_overrides_and_annotate_says_when():
    with pytest.raises(windows.HeldError, match="nothing written.*acme/live held by deny window"):
        windows.gate(_plan(), gov(rule(manual=True)), MONDAY_10, ignore_windows=False)
    with pytest.raises(windows.HeldError):
        windows.gate(_plan(), gov(rule(manual=False)), MONDAY_10, ignore_windows=True)
    plan = windows.gate(_plan(), gov(rule(manual=True)), MONDAY_10, ignore_windows=True)
    assert [f.code for f in plan.findings] == ["window.overridden"]
    assert windows.gate(_plan(), gov(rule()), MONDAY_10.replace(hour=18), ignore_windows=False) == _plan()
    [page] = windows.annotate(_plan(), gov(rule()), MONDAY_10).results
    assert page.warnings[0].code == "window.held" and "until 2026-03-02T17:00:00Z" in page.warnings[0].message


def test_settings_file_reads_windows_and_refuses_mistakes(tmp_path: Path):
    (tmp_path / "reconciler.yaml").write_text(
        "api: {url: local}\nwindows:\n  - kind: deny\n    schedule: '0 9 * * mon-fri'\n    duration: 8h\n"
        "    timeZone: Europe/London\n    envs: [live]\n    manualSync: true\nsuspend:\n  - agents: old-*\n")
    g = load_settings(tmp_path, environ={}).governance
    assert g.windows[0].duration == 8 * 3600 and g.windows[0].manual_sync and g.suspend[0].agents == ("old-*",)
    base = {"kind": "deny", "schedule": "'0 9 * * *'", "duration": "1h"}
    for key, value, word in (("kind", "maybe", "kind"), ("schedule", "'0 9 * *'", "5 fields"),
                             ("duration", "8 hours", "duration"), ("timeZone", "Mars/Base", "time zone"),
                             ("duration", "0", "between"), ("when", "now", "when")):
        fields = {**base, key: value}
        body = "\n".join(f"    {k}: {v}" for k, v in fields.items()).replace("    ", "  - ", 1)
        (tmp_path / "reconciler.yaml").write_text(f"api: {{url: local}}\nwindows:\n{body}\n")
        with pytest.raises(ConfigError) as info:
            load_settings(tmp_path, environ={})
        assert word in str(info.value) and info.value.line is not None, (key, str(info.value))

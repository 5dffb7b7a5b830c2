"""The daemon's other triggers (issue 23): `revision_held` when the blast-radius gate holds a commit (once, for
the whole replica) and `drift_detected` for pages it only reports, end to end with `reconciler watch --git` and
a loopback receiver; which event each page of a pass makes (`applied`, `apply_failed`, `unexpected_result`,
`drift_detected`, `contested_key`, nothing) from literal decisions."""

from __future__ import annotations

import signal
import time

import pytest

from reconciler.daemon.decide import Decision, PageStatus
from reconciler.daemon.notifying import pass_events
from reconciler.model import ClientEnv, Finding, Severity
from reconciler.planning.plan import DiffItem, DiffKind, EnvPlan, Outcome, OutcomeState, Status
from tests.daemon_helpers import BLAST_ONE_AGENT, Watch, set_value, wait_until
from tests.git_helpers import commit_and_push, remote_with_clone
from tests.hook_receiver import Receiver

AGENTS = ("trig-a", "trig-b")


@pytest.mark.slow
def test_revision_held_and_drift_detected_from_the_daemon(tmp_path, emulator):
    with Receiver() as hooks:
        work, remote = remote_with_clone(tmp_path, emulator.url, AGENTS)
        (work / "policies").mkdir()
        (work / "policies" / "blast.yaml").write_text(BLAST_ONE_AGENT)
        (work / "reconciler.yaml").write_text((work / "reconciler.yaml").read_text() + (
            "notifications:\n  targets:\n"
            f"    - {{name: ops, kind: webhook, url: '{hooks.url}/hook'}}\n"
            f"    - {{name: scoped, kind: webhook, url: '{hooks.url}/scoped'}}\n"
            "  subscriptions:\n    - {on: [revision_held, drift_detected], targets: [ops]}\n"
            "    - {on: [revision_held], agents: 'trig-*', targets: [scoped]}\n"))
        commit_and_push(work, "Blast radius policy, notifications")
        for agent in AGENTS:
            emulator.seed(agent)
        daemon_dir = tmp_path / "daemon"
        daemon_dir.mkdir()
        with Watch(daemon_dir, "--git", remote, "--interval", "1s") as watch:
            watch.wait_ready()
            for agent in AGENTS:
                set_value(work, agent, "sandbox", "greeting", "Everyone at once")
            sha = commit_and_push(work, "Greet everyone")
            wait_until(lambda: watch.status()["held"], timeout=20, what="the revision held")
            wait_until(lambda: any(d["trigger"] == "revision_held" for d in hooks.documents("/hook")), timeout=10,
                       what="revision_held notified")
            time.sleep(2.5)                                   # more fetches and passes: nothing new to tell
            watch.stop(signal.SIGTERM)
        docs = hooks.documents("/hook")
        held = [d for d in docs if d["trigger"] == "revision_held"]
        assert len(held) == 1
        assert (held[0]["agent"], held[0]["env"], held[0]["revision"]) == ("*", "*", sha)
        assert "would change 2 pages" in held[0]["summary"] and f"POST /approve/{sha}" in held[0]["summary"]
        assert hooks.bodies("/scoped") == []                  # fleet-wide: only unscoped subscriptions get it
        drifted = sorted((d["agent"], d["env"]) for d in docs if d["trigger"] == "drift_detected")
        assert drifted == [(a, "live") for a in AGENTS]       # live is sync: manual; once per page and revision


def _plan(env: ClientEnv = ClientEnv.SANDBOX, **kw) -> EnvPlan:
    return EnvPlan(agent="a", env=env, status=kw.pop("status", Status.CHANGES), **kw)


def test_each_page_of_a_pass_makes_at_most_one_event_besides_contested_keys():
    diff = (DiffItem("greeting", DiffKind.CHANGED, "x", "y"),)
    error = Finding(Severity.ERROR, "values.invalid", "greeting: *** does not match", agent="a", env="sandbox")
    unexpected = Finding(Severity.ERROR, "apply.unexpected_result", "live differs from the prediction")
    applied = Decision(_plan(variables_patch={"greeting": "y"}), PageStatus.IN_SYNC)
    blocked = Decision(_plan(ClientEnv.PRE_RELEASE, status=Status.ERROR, errors=(error,)), PageStatus.ERROR)
    drift = Decision(_plan(ClientEnv.LIVE, variables_diff=diff), PageStatus.DRIFT, contested=("greeting",),
                     newly_contested=("greeting",))
    outcomes = {ClientEnv.SANDBOX: Outcome("a", ClientEnv.SANDBOX, OutcomeState.APPLIED, patched_keys=("greeting",))}
    got = [(e.trigger, e.env, e.keys) for e in pass_events([applied, blocked, drift], outcomes, "rev")]
    assert got == [("applied", "sandbox", ("greeting",)), ("apply_failed", "pre-release", ()),
                   ("drift_detected", "live", ("greeting",)), ("contested_key", "live", ("greeting",))]
    failed = {ClientEnv.SANDBOX: Outcome("a", ClientEnv.SANDBOX, OutcomeState.FAILED, errors=(unexpected,))}
    assert [e.trigger for e in pass_events([applied], failed, "rev")] == ["unexpected_result"]
    skipped = {ClientEnv.SANDBOX: Outcome("a", ClientEnv.SANDBOX, OutcomeState.SKIPPED)}
    assert pass_events([applied], skipped, "rev") == []
    assert pass_events([Decision(_plan(status=Status.IN_SYNC), PageStatus.IN_SYNC)], {}, "rev") == []

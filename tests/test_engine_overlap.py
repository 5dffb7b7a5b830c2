"""The plan reads live state while the repository validates (CPU and round trips overlap).

Over the real loopback emulator. ``validation.validate_repository`` is wrapped
(our own seam) to note how many requests had reached the emulator when
validation finished: with the overlap, every agent has been read by then.
"""

import os
import time

import pytest

from reconciler import engine, errors, validation

from e2e_helpers import API_KEY, make_repo, new_agent


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("POLYAI_API_KEY", API_KEY)
    monkeypatch.delenv("RECONCILER_API_URL", raising=False)


def _slow_validation(monkeypatch, emulator, seen: list[int]):
    original = validation.validate_repository

    def slow(*args, **kwargs):
        desired = original(*args, **kwargs)
        time.sleep(0.5)                       # stands in for a large repository
        seen.append(emulator.stats()["total"])
        return desired
    monkeypatch.setattr(validation, "validate_repository", slow)


def test_live_state_is_read_while_the_repository_validates(tmp_path, emulator, monkeypatch):
    agents = tuple(new_agent(emulator, "ov") for _ in range(4))
    root = make_repo(tmp_path / "repo", emulator.url, agents)
    emulator.reset_stats()
    seen: list[int] = []
    _slow_validation(monkeypatch, emulator, seen)

    planned = engine.run_plan(root, engine.RunOptions())

    assert seen == [4]                        # every GET had landed before validation was done
    assert emulator.stats()["total"] == 4     # and none twice: still one GET per agent
    assert planned.plan.agents == tuple(sorted(agents))


def test_only_the_selected_agents_are_read(tmp_path, emulator, monkeypatch):
    agents = tuple(new_agent(emulator, "sel") for _ in range(3))
    root = make_repo(tmp_path / "repo", emulator.url, agents)
    emulator.reset_stats()

    planned = engine.run_plan(root, engine.RunOptions(agents=(agents[1],)))

    assert planned.plan.agents == (agents[1],)
    assert [r["path"] for r in emulator.requests()] == [f"/v1/agents/{agents[1]}/real-time-configs"]


def test_an_unknown_agent_stops_the_run_and_the_reads_in_flight(tmp_path, emulator):
    agent = new_agent(emulator, "unk")
    root = make_repo(tmp_path / "repo", emulator.url, (agent,))
    with pytest.raises(errors.ConfigError, match="unknown agent"):
        engine.run_plan(root, engine.RunOptions(agents=(agent, "no-such-agent")))


def test_invalid_settings_send_nothing(tmp_path, emulator):
    agent = new_agent(emulator, "set")
    root = make_repo(tmp_path / "repo", emulator.url, (agent,))
    with open(root / "reconciler.yaml", "a", encoding="utf-8") as fh:
        fh.write("colour: blue\n")
    emulator.reset_stats()
    with pytest.raises(errors.ConfigError):
        engine.run_plan(root, engine.RunOptions())
    assert emulator.stats()["total"] == 0

"""Bounded reads of every file a user hands us (reconciler/repository/safefile.py), as subprocesses.

``/dev/zero``, a FIFO, a directory and a 200,000-deep JSON document as ``apply --plan``,
``show`` and ``github`` reports: exit 1 with a clear message naming the file, quickly, and
nothing sent. Before: ``/dev/zero`` read until memory ran out, a FIFO hung the run, a deep
file gave ``RecursionError`` ("this is a bug").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import API_KEY, cli, make_repo, new_agent, writes
from test_github_cli import gh_cli

from reconciler.errors import ConfigError
from reconciler.repository import safefile

HOSTILE = ("/dev/zero", "fifo", "directory", "deep")
MESSAGES = {"/dev/zero": "is a device, not a regular file", "fifo": "is a FIFO (named pipe), not a regular file",
            "directory": "is a directory", "deep": "nests"}


def _hostile(tmp_path: Path, kind: str) -> str:
    if kind == "/dev/zero":
        return kind
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path.write_text("[" * 200_000 + "]" * 200_000)
    return str(path)


def _startup(root: Path, args: tuple[str, ...]) -> float:
    """Wall time of the same command given a plan file that does not exist: it loads the same code and
    stops at the same read, so the difference is the read alone (a loaded machine slows both alike)."""
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "reconciler", *args], cwd=root, capture_output=True)
    return time.monotonic() - began


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_plan_file_is_refused_quickly_with_a_clear_message_and_nothing_sent(tmp_path, emulator, kind):
    agent = new_agent(emulator)
    root = make_repo(tmp_path / "repo", emulator.url, agents=(agent,))
    plan_file = _hostile(tmp_path, kind)
    missing = str(tmp_path / "no-such-plan.json")
    for make in (lambda f: ("apply", str(root), "--plan", f, "--auto-approve"), lambda f: ("show", f)):
        args, baseline = make(plan_file), _startup(root, make(missing))
        began = time.monotonic()
        proc = cli(root, *args, check_codes=(1,))
        elapsed = time.monotonic() - began
        assert MESSAGES[kind] in proc.stderr and plan_file in proc.stderr, proc.stderr
        assert "this is a bug" not in proc.stderr
        assert elapsed - baseline < 2.0, (elapsed, baseline)
    assert writes(emulator.requests()) == []


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_report_given_to_github_is_refused_with_a_clear_message(fake_github, tmp_path, kind):
    report = _hostile(tmp_path, kind)
    proc = gh_cli(fake_github, "comment", "--report", report, "--pr", "3", "--sha", "e" * 40)
    assert proc.returncode == 1, proc.stderr
    assert MESSAGES[kind] in proc.stderr and "this is a bug" not in proc.stderr, proc.stderr
    assert [r for r in fake_github.requests() if r["method"] != "GET"] == []


def test_the_size_bound_holds_while_reading_not_from_st_size(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"pad": "x" * 5000}))
    with pytest.raises(ConfigError, match="larger than 4096 bytes") as caught:
        safefile.read_bytes(big, limit=4096, what="plan file")
    assert caught.value.code == "file.too_large" and caught.value.file == str(big)
    # /proc files report st_size 0 but have content: only the bytes actually read count.
    with pytest.raises(ConfigError, match="not a regular file|larger than"):
        safefile.read_bytes("/dev/urandom", limit=16)


def test_nesting_is_bounded_for_every_json_input_and_strings_do_not_count(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"a":' * (safefile.MAX_DEPTH + 1) + "1" + "}" * (safefile.MAX_DEPTH + 1))
    with pytest.raises(ConfigError, match=f"deeper than {safefile.MAX_DEPTH}"):
        safefile.load_json(deep, limit=1 << 20)
    fine = tmp_path / "fine.json"
    fine.write_text(json.dumps({"s": "[" * 1000, "a": [[[1]]] * 100}))
    assert safefile.load_json(fine, limit=1 << 20)["s"] == "[" * 1000


def test_the_key_is_never_in_the_messages(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url)
    proc = cli(root, "apply", str(root), "--plan", "/dev/zero", check_codes=(1,))
    assert API_KEY not in proc.stdout + proc.stderr

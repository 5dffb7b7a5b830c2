"""Messages a user meets on the adoption commands, and the crash log (found by black-box QA).

Each error names a path once (the ``file:`` prefix of :class:`ConfigError` and the message
used to say it twice), names what is wrong in words a user acts on, and the crash log of an
unexpected failure is a private file of its own.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from e2e_helpers import cli
from reconciler import cli as cli_module

GOLDEN = Path(__file__).parent / "golden"
ADK_PROJECT = GOLDEN / "adk" / "acme-support"
EXAMPLE = Path(__file__).resolve().parents[1]


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    d = root / "configs" / "acme" / "sandbox"
    d.mkdir(parents=True)
    (d / "schema.yaml").write_text("type: object\n", encoding="utf-8")
    (d / "values.yaml").write_text("greeting: Hi\n", encoding="utf-8")
    return root


def test_import_names_each_existing_file_once(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    cli(repo, "import", "--from-adk", str(ADK_PROJECT), "--repo", ".", check_codes=(0,))
    proc = cli(repo, "import", "--from-adk", str(ADK_PROJECT), "--repo", ".", check_codes=(1,))
    assert "already exist" in proc.stderr and "--force" in proc.stderr
    listed = "configs/acme-support/sandbox/schema.yaml"
    assert proc.stderr.count(listed) == 1, proc.stderr


def test_import_from_a_missing_adk_directory_says_it_does_not_exist(tmp_path: Path) -> None:
    proc = cli(tmp_path, "import", "--from-adk", str(tmp_path / "nowhere"), "--repo", ".", check_codes=(1,))
    assert "no such directory" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_export_of_an_unknown_agent_is_one_clear_sentence(tmp_path: Path) -> None:
    proc = cli(EXAMPLE, "export", ".", "--adk", str(tmp_path / "adk"), "--agent", "nobody", check_codes=(1,))
    assert "no configs/nobody directory" in proc.stderr
    assert "nobody: nobody" not in proc.stderr and "nobody:  " not in proc.stderr, proc.stderr
    assert not (tmp_path / "adk").exists()


def test_promote_of_an_unknown_agent_names_the_agents_that_exist(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    proc = cli(root, "promote", "nobody", ".", "--from", "sandbox", "--to", "pre-release", check_codes=(1,))
    assert "unknown agent 'nobody'" in proc.stderr and "known: acme" in proc.stderr, proc.stderr
    assert not (root / "configs" / "nobody").exists()


def test_promote_errors_name_the_path_once(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    proc = cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "pre-release", "--keys", "nope",
               check_codes=(1,))
    assert "nope" in proc.stderr and "keys there: greeting" in proc.stderr
    assert proc.stderr.count("configs/acme/sandbox/values.yaml") == 1, proc.stderr
    (root / "configs/acme/pre-release").mkdir(parents=True)
    proc = cli(root, "promote", "acme", ".", "--from", "pre-release", "--to", "live", check_codes=(1,))
    assert "no schema.yaml or values.yaml to promote" in proc.stderr
    assert proc.stderr.count("configs/acme/pre-release") == 1, proc.stderr


def test_crash_log_is_a_new_private_file_and_never_follows_a_planted_link(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n", encoding="utf-8")
    # The names the old code wrote to (one per second): a link planted there must not be followed.
    import datetime as dt

    for delta in range(3):
        stamp = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=delta)).strftime("%Y%m%dT%H%M%SZ")
        (tmp_path / f"reconciler-crash-{stamp}.log").symlink_to(victim)
    first = cli_module.write_crash_log(ValueError("first"))
    second = cli_module.write_crash_log(ValueError("second"))
    assert first != second                                   # same second, two files
    assert victim.read_text(encoding="utf-8") == "keep me\n"
    for path, word in ((first, "first"), (second, "second")):
        assert not path.is_symlink() and path.parent == tmp_path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        text = path.read_text(encoding="utf-8")
        assert "ValueError" in text and word in text


def test_promote_keys_rewrites_the_target_without_its_comments_as_documented(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    target = root / "configs/acme/pre-release"
    target.mkdir(parents=True)
    (target / "values.yaml").write_text("# QA desk\ngreeting: Old\nhold: 10\n", encoding="utf-8")
    cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "pre-release", "--keys", "greeting",
        check_codes=(0,))
    text = (target / "values.yaml").read_text(encoding="utf-8")
    assert "greeting: Hi" in text and "hold: 10" in text and "# QA desk" not in text
    for doc, says in (("docs/adoption.md", "comments are not kept"), ("docs/cli.md", "without its comments")):
        assert says in " ".join((EXAMPLE / doc).read_text(encoding="utf-8").split()), doc


def test_connectors_json_carries_tool_version_and_created_at(emulator, tmp_path: Path) -> None:
    """DESIGN §4: every JSON document names the tool version and when it was made."""
    import datetime as dt
    import json

    from e2e_helpers import write_settings
    from reconciler import __version__

    root = tmp_path / "repo"
    write_settings(root, emulator.url)
    emulator.seed("con-qa", connectors=[])
    (root / "configs" / "con-qa" / "live").mkdir(parents=True)
    (root / "configs" / "con-qa" / "live" / "values.yaml").write_text("{}\n", encoding="utf-8")
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    doc = json.loads(cli(root, "connectors", ".", "--format", "json", check_codes=(0,)).stdout)
    after = dt.datetime.now(dt.timezone.utc)
    assert doc["tool_version"] == __version__
    made = dt.datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00"))
    assert before <= made <= after


def test_emulator_help_has_examples_that_start_and_stop(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "reconciler", "emulator", "--help"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "COLUMNS": "200"}).stdout
    assert "list[str]" not in out and "<float>" not in out and "--api-key KEY" in out
    examples = [line.split("#")[0].split() for line in out[out.index("Examples"):].splitlines()
                if line.strip().startswith("reconciler emulator") and " seed " not in line]
    assert len(examples) == 3
    for words in examples:
        args = ["0" if w == "8080" else w for w in words[2:]]     # a fixed port may be taken on a shared box
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", "emulator", *args], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert line.startswith("listening on http://127.0.0.1:"), (words, line, err)
        assert proc.returncode == 0 and "Traceback" not in err, (words, err)

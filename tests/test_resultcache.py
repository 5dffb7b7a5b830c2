"""The on-disk cache of parse results (``.reconciler/cache/``): same results, and safe when the repository is hostile.

Subprocess runs of ``reconciler validate`` / ``plan`` (against the served emulator) compare
cold and warm reports byte for byte; in-process checks look at what the cache holds and
believes. Every CLI run here gets a temporary ``$XDG_CACHE_HOME`` (the key's home) from the
session-wide autouse fixture in ``conftest.py``, or its own where a test needs a second key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from e2e_helpers import API_KEY, SCHEMA, cli, make_repo, values, write_env

import reconciler
from reconciler.checks import validation
from reconciler.repository import cache as resultcache, cachetrust, loader, reader
from reconciler.model import ClientEnv

SENSITIVE_SCHEMA = {**SCHEMA, "properties": {**SCHEMA["properties"], "pin": {
    "type": "string", "pattern": r"^\d{4}$", "x-sensitive": True, "title": "PIN", "description": "Secret"}}}

BROKEN_VALUES = """\
greeting: Hello
after_hours_enabled: yes
max_hold: 99999999999999999999999
pin: "12345-secret"
fallback_number: "+44 not a phone"
sites:
  - phone: "+442079460000"
colour: blue
"""


def _repo(root: Path, url: str = "local") -> Path:
    """Valid agents, an invalid one (type, YAML 1.1 boolean, big integer, masked secret, missing key,
    unexpected key), one with an alias (parsed every time) and one with a YAML error."""
    make_repo(root, url, agents=("alpha", "beta"))
    for env in ("sandbox", "pre-release", "live"):
        write_env(root, "gamma", env, schema=SENSITIVE_SCHEMA, vals=values(env, pin="1234"))
    (root / "configs" / "gamma" / "pre-release" / "values.yaml").write_text(BROKEN_VALUES, encoding="utf-8")
    write_env(root, "delta", "sandbox")
    (root / "configs" / "delta" / "sandbox" / "values.yaml").write_text(
        "greeting: &g Hello\nsites:\n  - name: *g\n    phone: '+1234'\n", encoding="utf-8")
    write_env(root, "epsilon", "sandbox")
    (root / "configs" / "epsilon" / "sandbox" / "values.yaml").write_text("greeting: [unclosed\n", encoding="utf-8")
    return root


def _db(root: Path) -> Path:
    return root / ".reconciler" / "cache" / resultcache.DB_NAME


def _rows(root: Path) -> list[tuple]:
    with sqlite3.connect(_db(root)) as db:
        return db.execute("SELECT fp, kind, digest, payload, mac FROM entries").fetchall()


def _validate_json(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = cli(root, "validate", str(root), "--format", "json", *args, check_codes=(1,), extra_env=env)
    doc = json.loads(proc.stdout)
    doc.pop("created_at")
    return json.dumps(doc, sort_keys=True)


def _load(root: Path) -> tuple[dict, resultcache.ResultCache]:
    cache = resultcache.open_cache(root)
    assert cache is not None
    try:
        desired = loader.load_repository(root, cache=cache)
    finally:
        cache.close()
    return {(a, e.value): (env.values, env.values_map and env.values_map.notes,
                           env.values_map and env.values_map.big_ints)
            for a, agent in desired.agents.items() for e, env in agent.envs.items()}, cache


def _forge(root: Path, key: bytes, file: Path, data: dict) -> None:
    """Write an entry for ``file``'s exact bytes that claims it holds ``data``, MAC'd with ``key``."""
    content = reader.content_digest(file.read_bytes())
    payload = json.dumps({"data": data, "notes": [], "big_ints": []}).encode()
    fp = cachetrust.fingerprint()
    mac = hmac.digest(key, b"\0".join((fp, b"parse", content, payload)), "sha256")
    with sqlite3.connect(_db(root)) as db:
        db.execute("INSERT OR REPLACE INTO entries VALUES (?, 'parse', ?, ?, ?, 0)", (fp, content, payload, mac))


# ---- same results, cold and warm -------------------------------------------------------------

def test_validate_cold_and_warm_give_byte_identical_reports_and_the_warm_run_reads_the_cache(tmp_path):
    root = _repo(tmp_path / "repo")
    uncached = _validate_json(root, "--no-cache")
    assert not (root / ".reconciler").exists()
    cold = _validate_json(root)
    rows = [r for r in _rows(root) if r[1] == "parse"]
    # Only schema files are kept (a values file may hold a sensitive value, so none is): every agent but
    # gamma shares SCHEMA, gamma has its own.
    assert len(rows) == len({r[2] for r in rows}) == 2
    stored = {json.dumps(json.loads(r[3])["data"], sort_keys=True) for r in rows}
    assert json.dumps(SCHEMA, sort_keys=True) in stored
    assert json.dumps(values("sandbox"), sort_keys=True) not in stored
    warm = _validate_json(root)
    assert uncached == cold == warm
    report = json.loads(warm)
    found = report["errors"] + report["warnings"]
    codes = {(f["code"], f["line"]) for f in found if (f["file"] or "").startswith("configs/gamma")}
    assert ("yaml.ambiguous", 2) in codes and ("values.integer_too_large", 3) in codes
    assert "12345-secret" not in warm                                      # masked, cached or not
    assert any(f["code"] == "yaml.syntax" for f in found)

    # The warm run believes the cache: an entry forged WITH the user's key changes what a file "holds".
    key = cachetrust.load_key(os.path.realpath(root))
    alpha = root / "configs" / "alpha" / "sandbox" / "schema.yaml"
    _forge(root, key, alpha, {"type": "object", "properties": {"greeting": {"type": "integer"}}})
    with sqlite3.connect(_db(root)) as db:             # (the "valid" verdict for these bytes would skip the check)
        db.execute("DELETE FROM entries WHERE kind = 'valid'")
    assert '"configs/alpha/sandbox/values.yaml"' in _validate_json(root)          # now reported invalid
    assert _validate_json(root, "--no-cache") == uncached


def test_plan_cold_and_warm_against_the_emulator_give_identical_json(tmp_path, emulator):
    for agent in ("alpha", "beta", "gamma", "delta", "epsilon"):
        emulator.seed(agent)
    root = _repo(tmp_path / "repo", emulator.url)
    emulator.seed("alpha", {"sandbox": {"schema": SCHEMA, "variables": values("sandbox", max_hold=1)}})

    def plan(*args: str) -> str:
        proc = cli(root, "plan", str(root), "--format", "json", *args, check_codes=(1,))
        doc = json.loads(proc.stdout)
        doc.pop("created_at")
        return json.dumps(doc, sort_keys=True)

    uncached = plan("--no-cache")
    assert not (root / ".reconciler" / "cache").exists()
    cold = plan()
    assert _rows(root)
    warm = plan()
    assert uncached == cold == warm
    assert '"max_hold"' in warm and "12345-secret" not in warm


def test_an_edited_file_is_read_again_and_entries_are_shared_by_content(tmp_path):
    # (Only schema files are asked of the cache since values files are no longer kept: two distinct texts.)
    root = _repo(tmp_path / "repo")
    first, cold = _load(root)
    assert cold.hits == 0 and cold.misses == 2
    again, warm = _load(root)
    assert again == first and warm.misses == 0 and warm.hits == 2
    target = root / "configs" / "beta" / "live" / "values.yaml"
    target.write_text(yaml.safe_dump(values("live", greeting="Changed"), sort_keys=False), encoding="utf-8")
    schema = root / "configs" / "beta" / "live" / "schema.yaml"
    schema.write_text(yaml.safe_dump({**SCHEMA, "title": "Edited"}, sort_keys=False), encoding="utf-8")
    edited, after = _load(root)
    assert edited[("beta", "live")][0]["greeting"] == "Changed"
    assert edited[("alpha", "live")][0]["greeting"] == "Hello from live"
    assert after.misses == 1 and after.hits == 2
    gamma = edited[("gamma", "pre-release")]
    assert gamma[1][0].text == "yes" and gamma[2] == (("max_hold",),)     # notes and big integers kept


def test_another_tool_version_never_reads_the_entries_and_drops_them_on_write(tmp_path, monkeypatch):
    root = _repo(tmp_path / "repo")
    _load(root)
    old = {r[0] for r in _rows(root)}
    monkeypatch.setattr(reconciler, "__version__", "99.0.0")
    _, other = _load(root)
    assert other.hits == 0
    assert {r[0] for r in _rows(root)}.isdisjoint(old)          # another version's entries are gone


def test_validation_results_with_and_without_cache_are_equal_in_process(tmp_path):
    root = _repo(tmp_path / "repo")
    plain = validation.validate_repository(root)
    for _ in range(2):
        assert validation.validate_repository(root, use_cache=True).findings == plain.findings
    assert _rows(root)


# ---- a hostile repository --------------------------------------------------------------------

def test_a_committed_cache_made_with_another_key_is_ignored(tmp_path):
    root = _repo(tmp_path / "repo")
    honest = _validate_json(root, "--no-cache")
    other_home = tmp_path / "attacker-home"
    cli(root, "validate", str(root), check_codes=(1,), extra_env={"XDG_CACHE_HOME": str(other_home)})
    attacker_key = (other_home / "rtc-reconciler" / "cache.key").read_bytes()
    alpha = root / "configs" / "alpha" / "live" / "values.yaml"
    _forge(root, attacker_key, alpha, {"greeting": "attacker's value", "max_hold": 1})
    # (a checkout under umask 077 gives 0600 files: only the key stands in the way)
    assert stat.S_IMODE(_db(root).stat().st_mode) == 0o600
    assert _validate_json(root) == honest
    report = _load(root)[0]
    assert report[("alpha", "live")][0] == values("live")


def test_a_checked_out_cache_directory_is_refused_before_sqlite_reads_it(tmp_path):
    root = _repo(tmp_path / "repo")
    _load(root)
    cache_dir = root / ".reconciler" / "cache"
    os.chmod(cache_dir, 0o755)                    # what git makes of a committed directory
    before = _db(root).read_bytes()
    assert resultcache.open_cache(root) is None
    _validate_json(root)
    assert _db(root).read_bytes() == before
    os.chmod(cache_dir, 0o700)
    os.chmod(_db(root), 0o644)                    # ... and of a committed file
    assert resultcache.open_cache(root) is None


@pytest.mark.parametrize("link", [".reconciler", ".reconciler/cache"])
def test_a_symlinked_cache_directory_is_never_used_nor_written_through(tmp_path, link):
    root = _repo(tmp_path / "repo")
    honest = _validate_json(root, "--no-cache")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (root / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, root / link)
    assert _validate_json(root) == honest
    assert list(elsewhere.iterdir()) == []


def test_a_symlinked_database_or_wal_file_is_refused(tmp_path):
    root = _repo(tmp_path / "repo")
    _load(root)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    os.chmod(outside, 0o600)
    os.symlink(outside, str(_db(root)) + "-wal")
    honest = _validate_json(root, "--no-cache")
    assert _validate_json(root) == honest
    assert outside.read_text() == "precious\n"
    os.unlink(str(_db(root)) + "-wal")
    _db(root).unlink()
    os.symlink(outside, _db(root))
    assert _validate_json(root) == honest
    assert outside.read_text() == "precious\n"


def test_a_database_with_a_trigger_or_other_tables_is_refused(tmp_path):
    root = _repo(tmp_path / "repo")
    _load(root)
    with sqlite3.connect(_db(root)) as db:
        db.execute("DELETE FROM entries")
        db.execute("CREATE TABLE seen (digest BLOB)")
        db.execute("CREATE TRIGGER planted AFTER INSERT ON entries BEGIN INSERT INTO seen VALUES (new.digest); END")
    assert resultcache.open_cache(root) is None
    _validate_json(root)
    assert _rows(root) == []                       # never written to: the trigger never ran
    with sqlite3.connect(_db(root)) as db:
        assert db.execute("SELECT * FROM seen").fetchall() == []


def test_a_corrupt_database_gives_the_same_report_and_is_replaced(tmp_path):
    root = _repo(tmp_path / "repo")
    honest = _validate_json(root, "--no-cache")
    _validate_json(root)
    _db(root).write_bytes(b"this is not a database" * 500)
    assert _validate_json(root) == honest           # uncached this time (the corrupt file is removed)
    assert _validate_json(root) == honest           # a fresh cache
    assert _rows(root)


def test_a_tampered_entry_is_a_miss(tmp_path):
    root = _repo(tmp_path / "repo")
    first, _ = _load(root)
    with sqlite3.connect(_db(root)) as db:          # (schema entries: values files are not kept)
        db.execute("UPDATE entries SET payload = CAST(replace(payload, 'First words', 'First evils') AS BLOB) "
                   "WHERE instr(payload, 'First words') > 0")
    again, cache = _load(root)
    assert again == first and cache.misses == 2 and cache.hits == 0        # both schema entries were tampered


def test_the_key_never_lives_inside_the_repository(tmp_path):
    root = _repo(tmp_path / "repo")
    env = {"XDG_CACHE_HOME": str(root / ".cache")}
    _validate_json(root, env=env)
    assert not (root / ".cache").exists() and not (root / ".reconciler" / "cache").exists()


def test_no_cache_and_the_environment_variable_write_nothing(tmp_path, emulator):
    emulator.seed("alpha")
    root = make_repo(tmp_path / "repo", emulator.url, agents=("alpha",))
    cli(root, "validate", str(root), "--no-cache", check_codes=(0,))
    cli(root, "plan", str(root), "--no-cache", check_codes=(2,))
    cli(root, "drift", str(root), "--no-cache", check_codes=(0, 2))
    cli(root, "apply", str(root), "--env", "sandbox", "--no-cache", check_codes=(0,))
    cli(root, "validate", str(root), check_codes=(0,), extra_env={"RECONCILER_NO_CACHE": "1"})
    cli(root, "plan", str(root), check_codes=(2,), extra_env={"RECONCILER_NO_CACHE": "1"})
    assert not (root / ".reconciler" / "cache").exists()
    cli(root, "plan", str(root), check_codes=(2,))
    assert _rows(root)


def test_files_are_private_to_the_user(tmp_path):
    root = _repo(tmp_path / "repo")
    home = tmp_path / "home"
    cli(root, "validate", str(root), check_codes=(1,), extra_env={"XDG_CACHE_HOME": str(home)})
    mode = lambda p: stat.S_IMODE(os.lstat(p).st_mode)                        # noqa: E731
    assert mode(root / ".reconciler" / "cache") == 0o700
    assert mode(_db(root)) == 0o600
    assert mode(home / "rtc-reconciler") == 0o700 and mode(home / "rtc-reconciler" / "cache.key") == 0o600
    assert len((home / "rtc-reconciler" / "cache.key").read_bytes()) == 32
    assert [p.name for p in (home / "rtc-reconciler").iterdir()] == ["cache.key"]


def test_no_home_and_a_read_only_checkout_run_uncached_with_the_same_report(tmp_path):
    root = _repo(tmp_path / "repo")
    honest = _validate_json(root, "--no-cache")
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    env.update(POLYAI_API_KEY=API_KEY, NO_COLOR="1", HOME="relative")
    proc = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(root), "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    doc.pop("created_at")
    assert json.dumps(doc, sort_keys=True) == honest and not (root / ".reconciler").exists()
    if os.geteuid() == 0:
        pytest.skip("root writes to a read-only directory")
    os.chmod(root, 0o555)
    try:
        assert _validate_json(root) == honest
    finally:
        os.chmod(root, 0o755)


def test_two_concurrent_runs_both_succeed_with_the_same_report(tmp_path):
    root = _repo(tmp_path / "repo")
    for i in range(12):
        for env in ("sandbox", "live"):
            write_env(root, f"fleet-{i}", env, vals=values(env, greeting=f"agent {i}"))
    honest = _validate_json(root, "--no-cache")
    env = {**os.environ, "POLYAI_API_KEY": API_KEY, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "reconciler", "validate", str(root), "--format", "json"]
    for _ in range(2):                            # both cold, then both warm
        procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 1 and "Traceback" not in err, err
            doc = json.loads(out)
            doc.pop("created_at")
            assert json.dumps(doc, sort_keys=True) == honest
    assert len(_rows(root)) >= 24


def test_entries_are_bounded_and_the_oldest_go_first(tmp_path, monkeypatch):
    # (Schema files carry the bulk: values files are not kept.)
    root = tmp_path / "repo"
    for i in range(6):
        write_env(root, f"agent-{i}", "sandbox", schema={**SCHEMA, "description": f"agent {i} " + "x" * 2000})
    big = root / "configs" / "agent-big" / "sandbox"
    write_env(root, "agent-big", "sandbox", schema={**SCHEMA, "description": "y" * (resultcache.MAX_ENTRY_BYTES + 10)})
    _load(root)
    payloads = [r[3] for r in _rows(root)]
    assert payloads and all(b"yyyy" not in p for p in payloads)              # too big to keep
    with sqlite3.connect(_db(root)) as db:
        db.execute("UPDATE entries SET created = 2")
        db.execute("UPDATE entries SET created = 1 WHERE instr(payload, 'agent 0 ') > 0")
    monkeypatch.setattr(resultcache, "MAX_TOTAL_BYTES", 4 * (2100 + len(json.dumps(SCHEMA))))
    (big / "schema.yaml").write_text(yaml.safe_dump({**SCHEMA, "description": "new"}), encoding="utf-8")
    _load(root)
    left = [r[3] for r in _rows(root)]
    assert sum(map(len, left)) <= resultcache.MAX_TOTAL_BYTES
    assert not any(b"agent 0 " in p for p in left) and any(b'"new"' in p for p in left)


def test_the_cache_is_ignored_by_git_even_without_a_gitignore_in_the_repository(tmp_path):
    root = _repo(tmp_path / "repo")
    try:
        subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    _validate_json(root)
    assert _rows(root)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root, check=True,
                            capture_output=True, text=True, timeout=60).stdout
    assert "configs/alpha/live/values.yaml" in status and ".reconciler" not in status



# ---- validation results ----------------------------------------------------------------------

def _forge_json(root: Path, key: bytes, kind: str, content: bytes, value: object) -> None:
    payload = json.dumps(value).encode()
    fp = cachetrust.fingerprint()
    mac = hmac.digest(key, b"\0".join((fp, kind.encode(), content, payload)), "sha256")
    with sqlite3.connect(_db(root)) as db:
        db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, 0)", (fp, kind, content, payload, mac))


def test_only_valid_verdicts_are_kept_and_a_warm_run_believes_only_authentic_ones(tmp_path):
    root = _repo(tmp_path / "repo")
    honest = _validate_json(root, "--no-cache")
    _validate_json(root)
    env = root / "configs" / "gamma" / "pre-release"
    pair = reader.content_digest(reader.content_digest((env / "schema.yaml").read_bytes())
                              + reader.content_digest((env / "values.yaml").read_bytes()))
    valid = {r[2] for r in _rows(root) if r[1] == "valid"}
    assert len(valid) == 5 and pair not in valid     # alpha/beta x 3 share 3 pairs, gamma's 2 valid ones, delta's not
    assert _validate_json(root) == honest
    # An authentic "valid" for the invalid pair is believed (the warm path reads verdicts) ...
    _forge_json(root, cachetrust.load_key(os.path.realpath(root)), "valid", pair, True)
    errors = json.loads(_validate_json(root))["errors"]
    assert {e["code"] for e in errors if e["file"] == "configs/gamma/pre-release/values.yaml"} == {
        "values.integer_too_large"}                       # values.invalid skipped: "valid" was believed
    # ... one made with another key is not.
    _forge_json(root, b"k" * 32, "valid", pair, True)
    assert _validate_json(root) == honest


def test_schema_problems_come_from_the_cache_but_a_regex_timeout_is_probed_every_run(tmp_path):
    root = _repo(tmp_path / "repo")
    slow = {**SCHEMA, "properties": {**SCHEMA["properties"], "code": {"type": "string", "pattern": "^(a|aa)+$"}}}
    write_env(root, "zeta", "sandbox", schema=slow)
    with (root / "reconciler.yaml").open("a") as fh:      # a warning worth caching: shown only when enabled
        fh.write("warnings: {enable: [schema.regex_dialect]}\n")
    honest = _validate_json(root, "--no-cache")
    assert "schema.regex_timeout" in honest and "schema.regex_dialect" in honest
    assert _validate_json(root) == honest
    schemas = {r[2]: json.loads(r[3]) for r in _rows(root) if r[1] == "schema"}
    slow_file = reader.content_digest((root / "configs" / "zeta" / "sandbox" / "schema.yaml").read_bytes())
    assert slow_file not in schemas and len(schemas) == 2
    assert any(p[0] == "schema.regex_dialect" for problems in schemas.values() for p in problems)
    assert _validate_json(root) == honest
    plain = reader.content_digest((root / "configs" / "alpha" / "live" / "schema.yaml").read_bytes())
    _forge_json(root, cachetrust.load_key(os.path.realpath(root)), "schema", plain,
                [["schema.invalid", "planted problem", [], False, "error"]])
    assert "planted problem" in _validate_json(root)          # the warm path reads stored problems


def test_a_cold_run_writes_as_it_goes_so_pending_entries_stay_bounded(tmp_path, monkeypatch):
    root = _repo(tmp_path / "repo")
    monkeypatch.setattr(resultcache, "FLUSH_BYTES", 1000)
    cache = resultcache.open_cache(root)
    assert cache is not None
    try:
        loader.load_repository(root, cache=cache)
        before_close = len(_rows(root))                 # another connection sees what is already committed
    finally:
        cache.close()
    assert 0 < before_close <= len(_rows(root)) == cache.written == 2     # the two schema texts


def test_a_database_locked_by_another_run_gives_the_same_report_and_waits_boundedly(tmp_path):
    root = _repo(tmp_path / "repo")
    honest = _validate_json(root, "--no-cache")
    _validate_json(root)
    with sqlite3.connect(_db(root)) as db:
        db.execute("DELETE FROM entries WHERE kind = 'valid'")
    holder = sqlite3.connect(_db(root), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")                      # another run holds the write lock throughout
    try:
        started = time.monotonic()
        assert _validate_json(root) == honest            # reads go on (WAL); the write gives up after its timeout
        assert time.monotonic() - started < 60
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not [r for r in _rows(root) if r[1] == "valid"]
    assert _validate_json(root) == honest
    assert [r for r in _rows(root) if r[1] == "valid"]


def test_a_cache_owned_by_another_user_is_ignored(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root can give a directory to another user")
    root = _repo(tmp_path / "repo")
    _load(root)
    os.chown(root / ".reconciler" / "cache", 65534, 65534)
    before = _db(root).read_bytes()
    assert resultcache.open_cache(root) is None
    _validate_json(root)
    assert _db(root).read_bytes() == before
    os.chown(root / ".reconciler" / "cache", 0, 0)
    os.chown(_db(root), 65534, 65534)
    assert resultcache.open_cache(root) is None


def test_every_broken_repository_of_the_catalogue_gives_the_same_findings_cold_and_warm(tmp_path):
    from test_validation_catalogue import CASES, write_repo

    used = 0
    for case, (files, _code, _file, _line) in sorted(CASES.items()):
        root = tmp_path / case
        write_repo(root, files)
        plain = validation.validate_repository(root).findings
        cold = validation.validate_repository(root, use_cache=True).findings
        warm = validation.validate_repository(root, use_cache=True).findings
        assert plain == cold == warm, case
        used += _db(root).exists() and bool(_rows(root))
    assert used >= len(CASES) // 2                     # most cases have files the cache keeps


# ---- sensitive values never rest on disk ----------------------------------------------------------

TOKEN, PIN, DEFAULT_TOKEN = "tok-Zq9Xw2Lp7Vb4Nm1", "8841203976", "dflt-Hk3Jr8Tq5Wy2"
SECRET_SCHEMA = {**SCHEMA, "properties": {
    **SCHEMA["properties"],
    "api_token": {"type": "string", "writeOnly": True, "title": "Token", "description": "CRM token"},
    "pin": {"type": "string", "x-sensitive": True, "title": "PIN", "description": "Caller PIN"}}}
#: A schema whose own text holds a sensitive value (a default): its parse and problems are never kept either.
DEFAULT_SCHEMA = {**SCHEMA, "properties": {**SCHEMA["properties"], "api_token": {
    "type": "string", "writeOnly": True, "default": DEFAULT_TOKEN, "title": "Token", "description": "CRM token"}}}


def _secret_repo(root: Path, token: str = TOKEN) -> Path:
    make_repo(root, "local", agents=("alpha",))
    for env in ("sandbox", "live"):
        write_env(root, "secret", env, schema=SECRET_SCHEMA, vals=values(env, api_token=token, pin=PIN))
    write_env(root, "dflt", "sandbox", schema=DEFAULT_SCHEMA, vals=values("sandbox", api_token=DEFAULT_TOKEN))
    # an invalid one: the full validator runs (and its masked messages are never kept)
    write_env(root, "broken", "sandbox", schema=SECRET_SCHEMA, vals=values("sandbox", api_token=token, pin=PIN,
                                                                            max_hold="long"))
    return root


def _leaks(root: Path, *secrets_: str) -> list[str]:
    """Every file under ``.reconciler/`` (database, -wal, -shm, keys, state...) holding a secret or any
    8-character piece of one. Run after the CLI has exited (its connections closed)."""
    pieces = {s[i:i + 8].encode() for s in secrets_ for i in range(len(s) - 7)}
    found = []
    for dirpath, _dirs, files in os.walk(root / ".reconciler"):
        for name in files:
            raw = (Path(dirpath) / name).read_bytes()
            found.extend(f"{name}: {piece.decode()}" for piece in sorted(pieces) if piece in raw)
    return found


def _files_under(root: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root / ".reconciler") for f in fs}


def test_sensitive_values_never_rest_under_dot_reconciler_after_validate_and_plan(tmp_path):
    root = _secret_repo(tmp_path / "repo")
    for _ in range(2):                                       # cold, then warm
        cli(root, "validate", str(root), check_codes=(1,))
        cli(root, "plan", str(root), check_codes=(1,))
        cli(root, "plan", str(root), "--agent", "secret", check_codes=(2,))
    assert ".reconciler/cache/results.sqlite" in _files_under(root)
    kinds = {r[1] for r in _rows(root)}
    assert kinds == {"parse", "valid", "schema"}             # verdicts and schemas are still kept
    assert _leaks(root, TOKEN, PIN, DEFAULT_TOKEN) == []
    default_schema = reader.content_digest((root / "configs" / "dflt" / "sandbox" / "schema.yaml").read_bytes())
    assert default_schema not in {r[2] for r in _rows(root)}


def test_an_old_format_cache_holding_a_secret_is_purged_by_the_next_run_even_one_writing_nothing(tmp_path):
    root = _secret_repo(tmp_path / "repo")
    cli(root, "validate", str(root), check_codes=(1,))       # everything this version keeps is now kept
    entries = len(_rows(root))
    with sqlite3.connect(_db(root)) as db:                    # what a format-1 run kept: values files, secrets included
        for i, padding in enumerate(("", "x" * 20000)):      # (a small row, and one spilling over several pages)
            payload = json.dumps({"data": {"api_token": TOKEN, "pin": PIN, "pad": padding}, "notes": [],
                                  "big_ints": []}).encode()
            db.execute("INSERT INTO entries VALUES (?, 'parse', ?, ?, ?, 0)",
                       (b"\x01" * 16, bytes([i]) * 32, payload, b"\0" * 32))
    assert _leaks(root, TOKEN, PIN)
    cli(root, "validate", str(root), check_codes=(1,))
    assert len(_rows(root)) == entries                        # nothing new was written; the old rows are gone
    assert {r[0] for r in _rows(root)} == {cachetrust.fingerprint()}
    assert _leaks(root, TOKEN, PIN) == []


def test_a_rotated_secret_is_gone_after_the_next_full_run(tmp_path):
    root = _secret_repo(tmp_path / "repo")
    cli(root, "validate", str(root), check_codes=(1,))
    new_token = "tok-Rr5Tt7Yy9Uu1Ii3"
    for env in ("sandbox", "live"):
        write_env(root, "secret", env, schema=SECRET_SCHEMA, vals=values(env, api_token=new_token, pin=PIN))
    cli(root, "validate", str(root), check_codes=(1,))
    assert _leaks(root, TOKEN, new_token, PIN) == []


def test_a_full_run_prunes_parse_entries_of_files_no_longer_read_and_a_filtered_run_keeps_them(tmp_path):
    root = _repo(tmp_path / "repo")
    validation.validate_repository(root, use_cache=True)
    gamma = reader.content_digest((root / "configs" / "gamma" / "live" / "schema.yaml").read_bytes())
    parses = lambda: {r[2] for r in _rows(root) if r[1] == "parse"}                  # noqa: E731
    assert gamma in parses() and len(parses()) == 2
    edited = {**SENSITIVE_SCHEMA, "title": "Edited"}
    for env in ("sandbox", "pre-release", "live"):
        write_env(root, "gamma", env, schema=edited, vals=False)
    validation.validate_repository(root, use_cache=True, agents=["alpha"])       # filtered: nothing pruned
    validation.validate_repository(root, use_cache=True, envs=["sandbox"])
    assert gamma in parses()
    validation.validate_repository(root, use_cache=True)                           # full: the stale one goes
    new = reader.content_digest((root / "configs" / "gamma" / "live" / "schema.yaml").read_bytes())
    assert gamma not in parses() and new in parses() and len(parses()) == 2

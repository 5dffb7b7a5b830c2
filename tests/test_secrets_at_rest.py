"""No sensitive value rests on disk: a canary grep of every file the tool writes (issue 22, first point).

Every CLI run is a subprocess against the served emulator (the remote service's stand-in, whose
own database lives outside the repository): validate, plan, plan --save-plan (the plan file kept
under ``.reconciler/``), show, apply --plan, apply, drift and the daemon (``watch`` with its own
``--state-dir``). Afterwards the raw bytes of every file under ``.reconciler/``, the saved plan
and the daemon's state directory are searched for each secret and every 8-character piece of it.

``url: local`` is the one documented exception: ``.reconciler/local.db`` *is* the embedded
emulator's live store (what the remote service holds), so it holds the values apply sent; it is
private to the user (0600) and the only file that may hold them (docs/repository.md).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from daemon_helpers import Watch, wait_until
from e2e_helpers import SCHEMA, cli, make_repo, new_agent, values, write_env

TOKEN, PIN, NESTED = "tok-Zq9Xw2Lp7Vb4Nm1", "8841203976", "pw-Mm4Kk8Jj2Hh6"
SECRET_SCHEMA = {**SCHEMA, "properties": {
    **SCHEMA["properties"],
    "api_token": {"type": "string", "writeOnly": True, "title": "Token", "description": "CRM token"},
    "pin": {"type": "string", "x-sensitive": True, "title": "PIN", "description": "Caller PIN"},
    "crm": {"type": "object", "title": "CRM", "description": "CRM login", "properties": {
        "user": {"type": "string", "title": "User", "description": "Login"},
        "password": {"type": "string", "writeOnly": True, "title": "Password", "description": "Login"}}}}}
SECRETS = (TOKEN, PIN, NESTED)


def _secret_repo(root: Path, url: str, agent: str) -> Path:
    make_repo(root, url, agents=())
    for env in ("sandbox", "pre-release", "live"):
        write_env(root, agent, env, schema=SECRET_SCHEMA,
                  vals=values(env, api_token=TOKEN, pin=PIN, crm={"user": "ops", "password": NESTED}))
    return root


def _pieces(*secrets: str) -> set[bytes]:
    return {s[i:i + 8].encode() for s in secrets for i in range(len(s) - 7)}


def _leaks(*dirs: Path, skip: tuple[Path, ...] = ()) -> list[str]:
    """``file: piece`` for every file under ``dirs`` holding a secret or any 8-character piece of one."""
    pieces = _pieces(*SECRETS)
    found = []
    for top in dirs:
        paths = [top] if top.is_file() else [Path(d) / f for d, _, fs in os.walk(top) for f in fs]
        for path in paths:
            if True:
                if path in skip:
                    continue
                raw = path.read_bytes()
                found.extend(f"{path}: {p.decode()}" for p in sorted(pieces) if p in raw)
    return found


def _files(top: Path) -> set[str]:
    return {os.path.relpath(os.path.join(d, f), top) for d, _, fs in os.walk(top) for f in fs}


def test_no_secret_rests_under_dot_reconciler_nor_in_plan_files_nor_in_the_daemon_state(tmp_path, emulator):
    agent = new_agent(emulator, "sec")
    root = _secret_repo(tmp_path / "repo", emulator.url, agent)
    plan_file = root / ".reconciler" / "reviewed-plan.json"
    for _ in range(2):                                                 # cold, then warm cache
        cli(root, "validate", str(root), check_codes=(0,))
        cli(root, "plan", str(root), check_codes=(2,))
    cli(root, "plan", str(root), "--save-plan", str(plan_file), check_codes=(2,))
    cli(root, "show", str(plan_file), check_codes=(0, 2))
    cli(root, "apply", str(root), "--plan", str(plan_file), "--auto-approve", check_codes=(0,))
    assert emulator.peek(agent, "live")["variables"]["api_token"] == TOKEN    # the secrets did travel
    for env in ("sandbox", "pre-release"):
        (root / "configs" / agent / env / "values.yaml").write_text(
            (root / "configs" / agent / env / "values.yaml").read_text().replace("Hello", "Hi"))
    cli(root, "apply", str(root), "--auto-approve", check_codes=(0,))
    cli(root, "drift", str(root), check_codes=(0,))
    cli(root, "plan", str(root), "--save-plan", str(tmp_path / "outside.json"), check_codes=(0,))

    state = tmp_path / "daemon-state"
    emulator.edit_page(agent, "sandbox", variables={"greeting": "edited live"})
    with Watch(root, "--state-dir", str(state)) as watch:
        watch.wait_ready()
        wait_until(lambda: emulator.peek(agent, "sandbox")["variables"]["greeting"] != "edited live",
                   what="self-heal of the edited page")
    assert _files(state)                                              # the daemon wrote its record there
    assert {"cache/results.sqlite", "reviewed-plan.json"} <= _files(root / ".reconciler")
    assert _leaks(root / ".reconciler", state, tmp_path / "outside.json") == []


def test_with_url_local_only_the_embedded_emulators_private_store_holds_the_values(tmp_path):
    root = _secret_repo(tmp_path / "repo", "local", "localsec")
    plan_file = root / ".reconciler" / "plan.json"
    cli(root, "validate", str(root), check_codes=(0,))
    cli(root, "plan", str(root), "--save-plan", str(plan_file), check_codes=(2,))
    cli(root, "apply", str(root), "--plan", str(plan_file), "--auto-approve", check_codes=(0,))
    cli(root, "plan", str(root), check_codes=(0,))                    # the store kept them: in sync
    state = tmp_path / "daemon-state"
    with Watch(root, "--state-dir", str(state)) as watch:
        watch.wait_ready()
    store_files = tuple(p for p in (root / ".reconciler").iterdir() if p.name.startswith("local.db"))
    assert _leaks(root / ".reconciler", state, skip=store_files) == []
    assert _leaks(*store_files)                                        # the live store holds what was sent
    for path in store_files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path   # ... private to the user

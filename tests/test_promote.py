"""`reconciler promote`: copy a page to the next environment in the repository (no API call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e_helpers import cli
from reconciler.repository import yamlsafe
from reconciler.errors import ConfigError
from reconciler.model import ClientEnv
from reconciler.adoption.promote import check_order

SCHEMA = "# reviewed schema\ntype: object\nproperties:\n  greeting: {type: string}\n  hold: {type: integer}\n"


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for env, greeting, hold in (("sandbox", "Hi from sandbox", 30), ("pre-release", "Old", 10)):
        d = root / "configs" / "acme" / env
        d.mkdir(parents=True)
        (d / "schema.yaml").write_text(SCHEMA if env == "sandbox" else "type: object\n", encoding="utf-8")
        (d / "values.yaml").write_text(f"# {env} values\ngreeting: {greeting}\nhold: {hold}\nonly_here: x\n",
                                       encoding="utf-8")
    return root


def _values(root: Path, env: str) -> dict:
    return yamlsafe.parse_yaml((root / f"configs/acme/{env}/values.yaml").read_text(encoding="utf-8"), "v")[0]


def test_promote_copies_schema_and_values_as_written(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    proc = cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "pre-release", check_codes=(0,))
    assert "promoted acme sandbox → pre-release" in proc.stdout
    for name in ("schema.yaml", "values.yaml"):
        assert (root / "configs/acme/pre-release" / name).read_text(encoding="utf-8") == \
            (root / "configs/acme/sandbox" / name).read_text(encoding="utf-8")     # comments kept too
    cli(root, "validate", ".", check_codes=(0,))


def test_promote_selected_keys_only(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "pre-release", "--keys", "hold",
        check_codes=(0,))
    assert _values(root, "pre-release") == {"greeting": "Old", "hold": 30, "only_here": "x"}
    assert (root / "configs/acme/pre-release/schema.yaml").read_text(encoding="utf-8") == SCHEMA
    proc = cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "pre-release", "--keys", "nope,hold",
               check_codes=(1,))
    assert "nope" in proc.stderr and _values(root, "pre-release")["hold"] == 30


def test_promote_creates_the_target_environment(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    cli(root, "promote", "acme", ".", "--from", "pre-release", "--to", "live", check_codes=(0,))
    assert _values(root, "live") == _values(root, "pre-release")


def test_promotion_order_is_enforced(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    proc = cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "live", check_codes=(1,))
    assert "would skip pre-release" in proc.stderr and not (root / "configs/acme/live").exists()
    proc = cli(root, "promote", "acme", ".", "--from", "pre-release", "--to", "sandbox", check_codes=(1,))
    assert "comes before" in proc.stderr
    cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "live", "--force", check_codes=(0,))
    assert _values(root, "live")["greeting"] == "Hi from sandbox"


def test_order_comes_from_reconciler_yaml(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "reconciler.yaml").write_text("environments:\n  sandbox: {}\n  live: {}\n", encoding="utf-8")
    cli(root, "promote", "acme", ".", "--from", "sandbox", "--to", "live", check_codes=(0,))


def test_check_order_unit() -> None:
    order = tuple(ClientEnv)
    check_order(ClientEnv.SANDBOX, ClientEnv.PRE_RELEASE, order, force=False)
    for source, target in ((ClientEnv.SANDBOX, ClientEnv.LIVE), (ClientEnv.LIVE, ClientEnv.SANDBOX),
                           (ClientEnv.LIVE, ClientEnv.LIVE)):
        with pytest.raises(ConfigError):
            check_order(source, target, order, force=False)


def test_missing_source_is_an_error(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    proc = cli(root, "promote", "other", ".", "--from", "sandbox", "--to", "pre-release", check_codes=(1,))
    assert "no configs/other directory" in proc.stderr and "known: acme" in proc.stderr

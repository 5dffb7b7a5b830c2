"""Start-up: what an in-sync plan never needs is never imported (deepdiff, phonenumbers)."""

import os
import subprocess
import sys

from e2e_helpers import API_KEY, cli, make_repo

PROBE = """
import sys
from reconciler.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print("EXIT", code, "LOADED", " ".join(m for m in ("deepdiff", "phonenumbers") if m in sys.modules))
"""


def _loaded(root, *args: str) -> str:
    env = {**os.environ, "POLYAI_API_KEY": API_KEY, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=root)
    return next(line for line in proc.stdout.splitlines() if line.startswith("EXIT"))


def test_an_in_sync_plan_imports_neither_deepdiff_nor_phonenumbers(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url)
    emulator.seed("acme")
    cli(root, "apply", str(root), "--auto-approve", "--allow-large-change", check_codes=(0,))
    assert _loaded(root, "plan", str(root), "--format", "json") == "EXIT 0 LOADED "
    # A difference needs deepdiff: edit live, plan again.
    emulator.edit_page("acme", "sandbox", variables={"greeting": "edited in the UI"})
    assert _loaded(root, "plan", str(root), "--format", "json") == "EXIT 2 LOADED deepdiff"


def test_an_e164_rule_imports_phonenumbers_only_when_it_runs(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url)
    assert _loaded(root, "validate", str(root)) == "EXIT 0 LOADED "
    (root / "policies").mkdir()
    (root / "policies" / "phones.yaml").write_text(
        "name: phones\nseverity: error\nrules:\n  - id: fallback-e164\n    e164: {}\n    paths: [fallback_number]\n")
    assert _loaded(root, "validate", str(root)).startswith("EXIT 0 LOADED phonenumbers")

"""The public surface is kept on purpose, and the CLI starts as a real process."""

import subprocess
import sys

import reconciler


def test_all_lists_only_existing_names():
    for name in reconciler.__all__:
        assert hasattr(reconciler, name), name


def test_version_from_console_entry_point():
    out = subprocess.run([sys.executable, "-m", "reconciler", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"reconciler {reconciler.__version__}"


def test_unknown_command_is_a_usage_error_not_a_traceback():
    out = subprocess.run([sys.executable, "-m", "reconciler", "no-such-command"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr

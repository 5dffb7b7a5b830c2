"""The public surface is kept on purpose, and the CLI starts as a real process."""

import subprocess
import sys

import pytest

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
    assert out.returncode == 1
    assert "No such command" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [["plan", "--no-such-flag"], ["drift", "--format", "yaml"],
                                  ["plan", "/no/such/repository"], ["validate", "/no/such/repository"]])
def test_usage_errors_exit_1_never_2_which_means_changes_pending(args):
    out = subprocess.run([sys.executable, "-m", "reconciler", *args],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    if "/no/such/repository" in args:
        assert "does not exist" in out.stderr

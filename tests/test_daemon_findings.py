"""Every finding of a page, located: two invalid values in one file are two findings in /status and the log."""

from __future__ import annotations

import json

import pytest

from tests.daemon_helpers import ready_watch, wait_until
from tests.e2e_helpers import cli, make_repo

pytestmark = pytest.mark.slow

A = "find-a"


def test_two_invalid_values_are_two_located_findings_as_validate_reports_them(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url, agents=(A,))
    emulator.seed(A)
    watch = ready_watch(root)
    with watch:
        values_file = root / "configs" / A / "sandbox" / "values.yaml"
        text = values_file.read_text()
        bad = text.replace("max_hold: 120", "max_hold: lots").replace("after_hours_enabled: false",
                                                                        "after_hours_enabled: sometimes")
        assert bad.count("lots") == 1 and bad.count("sometimes") == 1
        values_file.write_text(bad)
        page = wait_until(lambda: (p := watch.page(A, "sandbox"))["status"] == "error"
                          and len([f for f in p["findings"] if f["severity"] == "error"]) >= 2 and p,
                          what="two findings")
        errors = [f for f in page["findings"] if f["severity"] == "error"]
        lines = bad.splitlines()
        expected = {("max_hold", lines.index("max_hold: lots") + 1),
                    ("after_hours_enabled", lines.index("after_hours_enabled: sometimes") + 1)}
        assert {(f["path"], f["line"]) for f in errors} == expected
        assert {f["file"] for f in errors} == {f"configs/{A}/sandbox/values.yaml"}
        assert {f["code"] for f in errors} == {"values.invalid"}
        # The same findings reconciler validate reports for that page.
        report = json.loads(cli(root, "validate", "--format", "json", check_codes=(1,)).stdout)
        validate = {(f["code"], f["file"], f["line"], f["path"]) for f in report["errors"]
                    if f.get("agent") == A and f.get("env") == "sandbox"}
        assert validate == {(f["code"], f["file"], f["line"], f["path"]) for f in errors}
        logged = wait_until(lambda: [x for x in watch.logs() if x["event"] == "error" and x.get("agent") == A
                                     and x.get("env") == "sandbox"], what="error lines")
        assert {(x["path"], x["line"]) for x in logged} >= expected

"""The status page (``GET /``) in a real browser: headless Chromium (Debian's ``chromium`` package).

Skipped, with the reason, where Chromium is not installed; ``.ci/run`` installs it when CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser

import pytest

from tests.daemon_helpers import Watch
from tests.e2e_helpers import make_repo

pytestmark = pytest.mark.slow


def _chromium() -> str | None:
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


CHROMIUM = _chromium()


def browse(url: str, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-background-networking", "--disable-component-update", "--disable-sync",
                               "--no-first-run", f"--user-data-dir={profile}", *extra, url],
                              capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)


class _Rows(HTMLParser):
    """Rows of the pages table as the browser's DOM has them: (data-* attributes, cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[dict, list[str]]] = []
        self.styles: dict[str, str] = {}
        self._cell: list[str] | None = None
        self.meta_refresh = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-agent" in a:
            self.rows.append((a, []))
        elif tag == "td" and self.rows:
            self._cell = []
        elif tag == "span" and "status" in (a.get("class") or ""):
            self.styles[a["class"].split()[-1]] = a.get("style", "")
        elif tag == "meta" and a.get("http-equiv") == "refresh":
            self.meta_refresh = True

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None and self.rows:
            self.rows[-1][1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (/usr/bin/chromium or chromium on PATH); "
                                             "`apt-get install chromium` — .ci/run does so when CI=true")
def test_status_page_in_headless_chromium(tmp_path, emulator):
    root = make_repo(tmp_path / "repo", emulator.url, agents=("page-a", "page-b"))
    for agent in ("page-a", "page-b"):
        emulator.seed(agent)
    bad = root / "configs" / "page-b" / "pre-release" / "values.yaml"
    bad.write_text(bad.read_text().replace("max_hold: 120", "max_hold: -5"))
    with Watch(root) as watch:
        watch.wait_ready()
        proc = browse(watch.url + "/", "--dump-dom")
        assert proc.returncode == 0, proc.stderr[-2000:]
        dom = _Rows()
        dom.feed(proc.stdout)
        assert dom.meta_refresh
        shown = {(a["data-agent"], a["data-env"]): (a["data-status"], cells) for a, cells in dom.rows}
        assert len(shown) == 6
        assert shown[("page-a", "sandbox")][0] == "in_sync"
        assert shown[("page-a", "live")][0] == "drift"
        status, cells = shown[("page-b", "pre-release")]
        assert status == "error"
        assert f"configs/page-b/pre-release/values.yaml:" in cells[-1] and "values.invalid" in cells[-1]
        assert shown[("page-a", "sandbox")][1][4] != "—"            # last applied is shown
        assert "in_sync: 3" in proc.stdout and "error: 2" in proc.stdout
        # Colour per status, as the browser got it.
        assert dom.styles["status-in_sync"] != dom.styles["status-error"] != dom.styles["status-drift"]
        shot = tmp_path / "status.png"
        proc = browse(watch.url + "/", f"--screenshot={shot}", "--window-size=1280,700")
        assert proc.returncode == 0 and shot.stat().st_size > 5000

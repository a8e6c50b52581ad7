"""The printable cheatsheet, checked in a real headless browser (Chromium): it loads, no image is missing, and it
prints to at most 4 A4 pages.  Skipped where no Chromium is installed, unless REQUIRE_BROWSER is set (CI sets it
after installing Debian's chromium)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import cheatsheet  # noqa: E402


@pytest.mark.timeout(300)
def test_the_cheatsheet_prints_to_a4_in_a_real_browser(tmp_path):
    if cheatsheet.chromium() is None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER is set but no Chromium was found (apt-get install chromium)")
        pytest.skip("no Chromium here (apt-get install chromium); CI runs this check")
    page = cheatsheet.build(tmp_path / "cheatsheet.html")
    assert cheatsheet.check(page) == []
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace("<body>", '<body><img src="no-such-image.png">'))
    assert any("image is missing" in p for p in cheatsheet.check(broken))  # the check can fail

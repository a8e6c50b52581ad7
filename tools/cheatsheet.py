"""Print docs/cheatsheet.md to a printable HTML page, and check it in a real headless browser.

    python tools/cheatsheet.py build [OUT]   # build/cheatsheet.html (A4, two columns, for printing)
    python tools/cheatsheet.py check [OUT]   # Chromium loads it, finds no broken image, prints it to at most 4 A4 pages

The check needs Chromium (Debian: ``apt-get install chromium``; it looks for ``chromium``, ``chromium-browser``
and ``google-chrome`` on the PATH, or the path in ``CHROMIUM``).  It starts Chromium headless with a fresh
profile and no background networking, the way the machines this kit runs on allow.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "cheatsheet.md"
OUT = ROOT / "build" / "cheatsheet.html"
MAX_PAGES = 4

# After load, the page reports in its title whether every image decoded (a missing file has naturalWidth 0).
_PROBE = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
  document.title = broken.length ? "BROKEN " + broken.join(" ") : "LOADED " + document.images.length + " images";
});
</script>"""

_STYLE = """<style>
@page { size: A4; margin: 11mm 10mm; }
body { font: 8.6pt/1.3 "DejaVu Sans", Arial, sans-serif; margin: 0; columns: 2; column-gap: 7mm; }
h1 { column-span: all; font-size: 13pt; margin: 0 0 2mm; }
h1 + p { column-span: all; margin: 0 0 3mm; color: #444; }
h2 { font-size: 9.6pt; margin: 3mm 0 1mm; break-after: avoid; }
ul { margin: 0; padding-left: 4mm; } li { margin: 0 0 0.6mm; break-inside: avoid; }
code { font-size: 8pt; background: #f2f2f2; }
</style>"""


def build(out: Path = OUT) -> Path:
    import mistune

    body = mistune.html(SOURCE.read_text())
    title = html.escape(SOURCE.read_text().splitlines()[0].lstrip("# "))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
                   f"{_STYLE}{_PROBE}</head><body>\n{body}</body></html>\n")
    return out


def chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (found := shutil.which(name)):
            return found
    return None


def _run(browser: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=120)


def check(page: Path = OUT) -> list[str]:
    """What is wrong with the printed page, as messages (empty: it loads, its images load, it fits 4 pages)."""
    browser = chromium()
    if browser is None:
        return ["Chromium was not found: install it (Debian: apt-get install chromium) or set CHROMIUM"]
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        url = page.resolve().as_uri()
        dom = _run(browser, tmp, "--virtual-time-budget=5000", "--dump-dom", url)
        title = re.search(r"<title>(.*?)</title>", dom.stdout, flags=re.S)
        if dom.returncode != 0 or title is None:
            return [f"Chromium could not load {page}: {dom.stderr.strip()[-300:]}"]
        if not title.group(1).startswith("LOADED"):
            problems.append(f"the page did not finish loading, or an image is missing: {title.group(1)[:200]}")
        if "<h2" not in dom.stdout:
            problems.append("the page has no lesson sections")
        pdf = Path(tmp) / "cheatsheet.pdf"
        printed = _run(browser, tmp, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", url)
        if printed.returncode != 0 or not pdf.exists():
            return problems + [f"Chromium could not print {page}: {printed.stderr.strip()[-300:]}"]
        data = pdf.read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
        sizes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data))
        if not 1 <= pages <= MAX_PAGES:
            problems.append(f"printed to {pages} pages, more than {MAX_PAGES}")
        if any(abs(float(w) - 595.92) > 2 or abs(float(h) - 842.88) > 2 for w, h in sizes) or not sizes:
            problems.append(f"the pages are not A4 (595 x 842 points): {sorted(sizes)}")
    return problems


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    out = Path(argv[2]) if len(argv) > 2 else OUT
    if command == "build":
        print(f"wrote {build(out)}")
        return 0
    if command == "check":
        problems = check(out)
        for p in problems:
            print(p, file=sys.stderr)
        if not problems:
            print(f"{out}: loads in Chromium, no broken image, prints to at most {MAX_PAGES} A4 pages")
        return 1 if problems else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

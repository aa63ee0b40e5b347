"""`mithril report`: one self-contained HTML page (no script, no external
resource) with the summary, charts of hit rate, size vs budget and time
saved over the recorded runs, the largest entries and the eviction history;
rendered by headless Chromium (Debian's `chromium`) and checked on the
screenshot's pixels."""
import json
import re
import shutil
import subprocess
import sys

import pytest

from png_pixels import read_png

LINE, BUDGET = (0x1F, 0x77, 0xB4), (0xD6, 0x27, 0x28)  # the report's chart colours

COMPILER = """
import os, sys, time
d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
os.listdir(d)
for n in range(3):
    name = f"f{n}" if n < 2 else f"f{n}_{sys.argv[1]}"  # two stable entries, one new per run
    p = os.path.join(d, "fxgraph", f"a{n}", name, "entry")
    if os.path.exists(p):
        open(p, "rb").read()
        continue
    time.sleep(0.05)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(os.urandom(9000))
"""


@pytest.fixture
def reported(mithril, tmp_path):
    for i in range(6):
        mithril.run("--max-size", "40K", "run", "--", sys.executable, "-c", COMPILER, str(i))
    out = tmp_path / "report.html"
    mithril.run("--max-size", "40K", "report", "-o", out)
    return out, mithril.stats()


def test_report_is_self_contained_and_complete(reported):
    path, stats = reported
    html = path.read_text()
    for section in ("Summary", "Over time", "Largest framework entries", "Eviction history"):
        assert f"<h2>{section}" in html
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", html), "no external resource"
    assert html.count("<polyline") == 4  # hit rate, size, budget, time saved
    evicted = stats["counters"]["evictions"]
    assert evicted > 0
    assert html.count("<td>budget</td>") == evicted
    assert html.count("inductor-fxgraph</td>") >= stats["framework_entries"]
    # per-kind accounting agrees with the totals
    assert stats["frameworks"]["inductor-fxgraph"]["evictions"] == evicted
    assert stats["frameworks"]["inductor-fxgraph"]["compiled"] == stats["counters"]["framework_new_entries"] == 2 + 6
    saved = stats["counters"]["compile_ms_saved"]
    assert saved > 0
    assert abs(stats["frameworks"]["inductor-fxgraph"]["compile_ms_saved"] - saved) <= 6  # ms rounding per run


def test_report_renders_in_headless_chromium(reported, tmp_path):
    path, _ = reported
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is installed by scripts/install_deps.sh"
    shot = tmp_path / "report.png"
    p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--window-size=1250,1500", f"--screenshot={shot}", f"file://{path}"],
                       capture_output=True, timeout=120)
    assert shot.exists(), p.stderr.decode()[-2000:]
    width, height, rows = read_png(shot)
    assert (width, height) == (1250, 1500)
    pixels = [px for row in rows for px in row]
    assert sum(px == LINE for px in pixels) > 1000, "the chart lines were drawn"
    assert sum(px == BUDGET for px in pixels) > 200, "the budget line was drawn"
    assert len(set(pixels)) > 50, "text and tables rendered, not a blank page"

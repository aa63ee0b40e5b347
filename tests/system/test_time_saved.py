"""Compile time saved: `mithril run` estimates how long the framework took to
produce each new entry (from when the run first touched the cache and when
each entry's files were written, as inotify saw them) and credits that time
on every later hit, also on another machine that pulled the entry. The
"compiler" here sleeps a known time before writing each entry, so the
estimates have a known lower bound."""
import json
import os
import sys

from mithril_testlib import Mithril

COMPILER = """
import os, sys, time
d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
os.listdir(d)  # a framework looks into its cache first
for name, seconds in (("fone", 0.6), ("ftwo", 0.3)):
    p = os.path.join(d, "fxgraph", name[:3], name, "entry")
    if os.path.exists(p):
        open(p, "rb").read()  # a hit: load it
        continue
    time.sleep(seconds)  # "compile"
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as fh:
        fh.write(name.encode() * 100)
"""


def run(m, *extra):
    return m.run("run", *extra, "--", sys.executable, "-c", COMPILER)


def test_time_saved_is_recorded_at_creation_and_credited_on_hits(mithril):
    run(mithril)
    s = mithril.stats()
    spent = s["counters"]["compile_ms_spent"]
    assert 900 <= spent < 20_000, spent  # at least the 0.6 + 0.3 s of "compiling"
    assert s["counters"]["compile_ms_saved"] == 0
    run(mithril)
    s = mithril.stats()
    saved = s["counters"]["compile_ms_saved"]
    assert saved >= 900 and abs(saved - spent) <= 1, (saved, spent)  # every entry reused once
    assert s["frameworks"]["inductor-fxgraph"]["compile_ms_saved"] == saved
    run(mithril)
    assert mithril.stats()["counters"]["compile_ms_saved"] >= 2 * saved - 2
    assert "Compile time saved" in mithril.run("stats").stdout.decode()
    assert "mithril_compile_ms_saved_total" in mithril.run("stats", "--prometheus").stdout.decode()


def test_costs_travel_with_pushed_entries(mithril, mithril_bin, tmp_path):
    remote = f"file://{tmp_path / 'remote'}"
    run(mithril, "--remote", remote)
    spent = mithril.stats()["counters"]["compile_ms_spent"]
    assert spent >= 900, spent
    other = Mithril(mithril_bin, tmp_path / "machine-b")
    run(other, "--remote", remote)  # pulls both entries, then hits them
    c = other.stats()["counters"]
    assert c["remote_pulled"] == 2 and c["compile_ms_spent"] == 0
    assert abs(c["compile_ms_saved"] - spent) <= 1, (c["compile_ms_saved"], spent)

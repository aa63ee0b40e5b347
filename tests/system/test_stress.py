"""Concurrency: 8 processes x 4 threads doing a random mix of put, get, gc,
verify and stats on one root, with a budget small enough that eviction runs
all the time, for a bounded time (tests/stress/mithril_stress.cc). Zero
errors, zero torn or wrong reads, the size bound holds, and the persistent
counters equal the sums of what the processes did."""
import json
import os
import pathlib
import subprocess

import pytest

PROCESSES, THREADS = 8, 4
SECONDS = float(os.environ.get("MITHRIL_STRESS_SECONDS", "8"))
BUDGET = 3_000_000


@pytest.fixture
def stress_bin(mithril_bin):
    path = pathlib.Path(mithril_bin).resolve().parents[1] / "tests" / "mithril_stress"
    if not path.exists():
        pytest.fail(f"{path} not built")
    return str(path)


def test_eight_processes_of_mixed_operations(mithril, stress_bin):
    procs = [subprocess.Popen([stress_bin, str(mithril.root), str(SECONDS), str(THREADS), str(seed), str(BUDGET)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=mithril.env)
             for seed in range(1, PROCESSES + 1)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=SECONDS + 300)
        assert p.returncode == 0, err.decode()
        reports.append(json.loads(out))
    total = {k: sum(r[k] for r in reports) for k in ("puts", "gets", "hits", "misses", "gcs", "verifies", "stats",
                                                      "errors", "bad_reads")}
    print(f"\nstress: {PROCESSES} processes x {THREADS} threads, {SECONDS} s: {total}")
    if os.environ.get("MITHRIL_REPORT_DIR"):
        out = pathlib.Path(os.environ["MITHRIL_REPORT_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "stress.json").write_text(json.dumps(dict(total, processes=PROCESSES, threads=THREADS,
                                                         seconds=SECONDS)))
    assert total["errors"] == 0, [r["first_error"] for r in reports if r["errors"]]
    assert total["bad_reads"] == 0
    # Behaviour, not speed: the tool runs on until each kind of operation happened.
    for kind in ("puts", "hits", "misses", "gcs", "verifies", "stats"):
        assert total[kind] > 0, f"no {kind} in the mix"
    s = mithril.stats()
    assert s["stored_bytes"] <= BUDGET, "the bound held under contention"
    assert s["counters"]["puts"] == total["puts"]
    assert s["counters"]["hits"] == total["hits"]
    assert s["counters"]["misses"] == total["misses"]
    assert s["counters"]["errors"] == 0
    mithril.run("gc", "--max-size", str(BUDGET // 2))
    assert mithril.stats()["stored_bytes"] <= BUDGET // 2
    v = json.loads(mithril.run("verify", "--repair", "--json").stdout)
    assert v["corrupt"] == 0 and v["missing"] == 0 and v["orphans"] == 0

"""Crash consistency: SIGKILL `mithril` at random points of put, gc (evict),
verify --repair, unpack and pull (framework entries), and the index updates
they make, over and over on one root; after every batch, no stored entry may
be corrupt or missing, every listed entry must read back as its own digest,
and every framework file a run would see must be complete (equal to its
source; staging debris is ignored by mithril and never part of an entry).
Seeded and reproducible: MITHRIL_CRASH_SEED, MITHRIL_CRASH_KILLS (default 1000).
With MITHRIL_REPORT_DIR set, writes crash.json for the hardening report."""
import json
import os
import pathlib
import random
import shutil
import subprocess
import time


def b3(data):
    return subprocess.run(["b3sum", "--no-names"], input=data, capture_output=True, check=True).stdout.decode().strip()


def check_framework_files(mithril, sources):
    """Every framework file outside staging debris is complete, and is
    recorded (after a run's sync) with the right size."""
    mithril.run("run", "-q", "--", "true")  # check + sync, as before a real job
    fw = mithril.root / "fw"
    seen = 0
    for p in fw.rglob("*"):
        if not p.is_file() or ".mithril-" in p.name or p.parent.name == "locks":
            continue
        rel = p.relative_to(next(fw.iterdir()))  # drop the partition
        assert str(rel) in sources, rel
        assert p.read_bytes() == sources[str(rel)], f"{rel} is torn"
        seen += 1
    return seen


def check_invariants(mithril):
    report = json.loads(mithril.run("verify", "--json").stdout)
    assert report["corrupt"] == 0, report
    assert report["missing"] == 0, report
    entries = [e for e in json.loads(mithril.run("ls", "--json").stdout) if e["store"] == "keyed"]
    for e in entries:
        got = mithril.run("get", e["key"], check=False)
        assert got.returncode == 0, (e, got.stderr)
        assert b3(got.stdout) == e["key"]
    s = mithril.stats()
    assert s["entries"] == len(entries)
    return len(entries)


def test_sigkill_at_random_points_leaves_only_valid_entries(mithril, tmp_path):
    seed = int(os.environ.get("MITHRIL_CRASH_SEED", "20261124"))
    kills = int(os.environ.get("MITHRIL_CRASH_KILLS", "1000"))
    rng = random.Random(seed)
    files = []
    for i in range(40):
        f = tmp_path / f"f{i}"
        f.write_bytes(rng.randbytes(rng.choice([64, 4096, 60_000, 400_000])))
        files.append(str(f))
    base = [mithril.binary, "--root", str(mithril.root)]
    ops = [
        lambda: base + ["put"] + rng.sample(files, 5),
        lambda: base + ["--set", "compression=true", "put"] + rng.sample(files, 3),
        lambda: base + ["gc", "--max-size", str(rng.choice([0, 50_000, 500_000, 2_000_000]))],
        lambda: base + ["--max-size", "300K", "put"] + rng.sample(files, 4),
        lambda: base + ["verify", "--repair"],
    ]
    # A source of framework entries for unpack and pull.
    from mithril_testlib import Mithril, inductor_dir
    source = Mithril(mithril.binary, tmp_path / "source")
    inductor = pathlib.Path(inductor_dir(source))
    sources = {}
    for i in range(12):
        rel = f"inductor/fxgraph/{i:02x}/f{i:04x}/entry"
        sources[rel] = rng.randbytes(rng.choice([500, 70_000, 300_000]))
        (inductor / rel.split("/", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        (inductor / rel.split("/", 1)[1]).write_bytes(sources[rel])
    bundle = tmp_path / "warm.tar.zst"
    source.run("pack", bundle)
    remote = f"file://{tmp_path / 'remote'}"
    source.run("push", "--remote", remote)
    ops += [
        lambda: base + ["unpack", str(bundle)],
        lambda: base + ["pull", "--remote", remote],
        lambda: base + ["--max-size", "400K", "pull", "--remote", remote],  # pull, then evict
    ]

    def forget_framework_entries():
        # Drop what unpack/pull brought in now and then, so they keep having work to do.
        shutil.rmtree(mithril.root / "fw", ignore_errors=True)
        mithril.run("run", "-q", "--", "true")

    mithril.run("put", *files[:10])
    killed = finished = checks = fw_files = 0
    k = 0
    while killed < kills and k < 3 * kills:  # until `kills` SIGKILLs landed mid-run
        k += 1
        p = subprocess.Popen(rng.choice(ops)(), env=mithril.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, 0.012))
        p.kill()
        _, err = p.communicate(timeout=60)
        if p.returncode == -9:
            killed += 1
        else:
            finished += 1
            assert p.returncode in (0, 1), err.decode()  # verify exits 1 when it repaired something
        if k % 100 == 0:
            check_invariants(mithril)
            fw_files += check_framework_files(mithril, sources)
            checks += 1
        if k % 50 == 0:
            forget_framework_entries()
    entries = check_invariants(mithril)
    fw_files += check_framework_files(mithril, sources)
    print(f"\ncrash harness: seed {seed}, {k} runs, {killed} SIGKILLs landed mid-run, "
          f"{finished} runs finished first, {checks + 1} invariant checks, {entries} entries at the end, "
          f"{fw_files} framework files checked complete, 0 corrupt, 0 missing")
    if os.environ.get("MITHRIL_REPORT_DIR"):
        pathlib.Path(os.environ["MITHRIL_REPORT_DIR"]).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(os.environ["MITHRIL_REPORT_DIR"]) / "crash.json").write_text(json.dumps(
            {"runs": k, "landed": killed, "checks": checks + 1, "entries": entries, "fw_files": fw_files,
             "corrupt": 0, "missing": 0}))
    assert killed == kills, "the kills must land while the commands run"

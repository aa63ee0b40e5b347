"""torch.compile (CPU, torch 2.13) under `mithril run`: hits, integrity, budget,
portability, concurrency and ISA partitions. Asserts on torch's own counters
and on results matching eager mode, never on timings."""
import json
import pathlib
import shutil
import subprocess
import sys

from mithril_testlib import Mithril
from torch_runs import DEMO, partition_dir, run_model, so_files


def assert_correct(run):
    assert run.rc == 0, run.stderr
    for name, model in run.result["models"].items():
        assert model["max_abs_diff"] < 1e-3, (name, model)


def test_warm_run_hits_and_compiles_nothing(warm_copy, tmp_path):
    before = so_files(warm_copy.root)
    warm = run_model(warm_copy, tmp_path)
    assert_correct(warm)
    assert warm.counter("inductor.fxgraph_cache_hit") == 2
    assert warm.counter("inductor.fxgraph_cache_miss") == 0
    assert so_files(warm_copy.root) == before, "no kernel was rebuilt"
    s = warm_copy.stats()
    assert s["framework_entries"] > 0
    assert s["total_bytes"] == s["stored_bytes"] + s["framework_bytes"]
    # The warm run read both graphs (inotify): credited as framework hits.
    assert s["counters"]["framework_hits"] >= 2
    assert s["frameworks"]["inductor-fxgraph"]["hits"] >= 2
    assert s["counters"]["framework_new_entries"] > 0, "from the cold run that filled the root"


def test_truncated_kernel_is_quarantined_and_recompiled(warm_copy, tmp_path):
    kernels = [p for p in partition_dir(warm_copy.root).rglob("*.so") if p.stat().st_size > 10_000]
    victim = kernels[0]
    with open(victim, "r+b") as fh:
        fh.truncate(victim.stat().st_size // 2)  # what a killed linker leaves
    run = run_model(warm_copy, tmp_path)
    assert_correct(run)
    assert "quarantined" in run.stderr
    s = warm_copy.stats()
    assert s["counters"]["corruptions"] >= 1
    assert victim.exists() and victim.stat().st_size > 10_000, "rebuilt whole"


def test_partial_unrecorded_kernel_is_quarantined(warm_copy, tmp_path):
    # A run killed while linking leaves a 0-byte .so that mithril never recorded.
    (warm_copy.root / "index.db").unlink()
    for extra in ("index.db-wal", "index.db-shm"):
        (warm_copy.root / extra).unlink(missing_ok=True)
    kernels = [p for p in partition_dir(warm_copy.root).rglob("*.main.so")]
    kernels[0].write_bytes(b"")
    run = run_model(warm_copy, tmp_path)
    assert_correct(run)
    assert warm_copy.stats()["counters"]["corruptions"] >= 1


def test_flipped_bytes_in_fx_entry_become_a_miss(warm_copy, tmp_path):
    entries = list((partition_dir(warm_copy.root) / "inductor" / "fxgraph").rglob("*"))
    entry = [p for p in entries if p.is_file()][0]
    data = bytearray(entry.read_bytes())
    for i in range(100, 116):
        data[i] ^= 0xFF
    entry.write_bytes(bytes(data))
    run = run_model(warm_copy, tmp_path)
    assert_correct(run)
    # The damaged graph misses (torch may look it up more than once while
    # recompiling); the other one still hits.
    assert run.counter("inductor.fxgraph_cache_miss") >= 1
    assert run.counter("inductor.fxgraph_cache_hit") == 1
    assert "quarantined 1 damaged" in run.stderr
    assert warm_copy.stats()["counters"]["corruptions"] == 1


def test_cache_moved_to_another_path_still_hits(warm_root, tmp_path, mithril_bin):
    root, _ = warm_root
    dst = tmp_path / "a" / "much" / "longer" / "path" / "than" / "before" / "root"
    shutil.copytree(root, dst)
    moved = Mithril(mithril_bin, dst)
    before = so_files(dst)
    run = run_model(moved, tmp_path)
    assert_correct(run)
    assert run.counter("inductor.fxgraph_cache_hit") == 2
    assert so_files(dst) == before, "nothing recompiled after the move"
    assert str(root) not in json.dumps(moved.stats())


def test_budget_smaller_than_working_set(mithril, tmp_path):
    budget = 700 * 1024  # both models together need ~1 MiB
    for models in ("mlp", "tfm", "mlp", "tfm"):
        p = subprocess.run([mithril.binary, "--root", str(mithril.root), "--max-size", str(budget), "run", "--",
                            sys.executable, str(DEMO), "--models", models],
                           env={**mithril.env, "MITHRIL_DEMO_OUT": str(tmp_path / "r.json")},
                           capture_output=True, timeout=300)
        assert p.returncode == 0, p.stderr.decode()
        result = json.loads((tmp_path / "r.json").read_text())
        assert all(m["max_abs_diff"] < 1e-3 for m in result["models"].values())
        s = mithril.stats()
        assert s["total_bytes"] <= budget, s
    assert mithril.stats()["counters"]["evictions"] > 0


def test_two_processes_compile_into_one_root(mithril, tmp_path):
    env = dict(mithril.env)
    procs = []
    for i in range(2):
        procs.append(subprocess.Popen(
            [mithril.binary, "--root", str(mithril.root), "run", "--", sys.executable, str(DEMO), "--models", "mlp"],
            env={**env, "MITHRIL_DEMO_OUT": str(tmp_path / f"r{i}.json")},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    report = json.loads(mithril.run("verify", "--json").stdout)
    assert report["corrupt"] == 0 and report["missing"] == 0
    warm = run_model(mithril, tmp_path, models="mlp")
    assert_correct(warm)
    assert warm.counter("inductor.fxgraph_cache_hit") == 1


def test_lower_isa_gets_its_own_partition(warm_copy, tmp_path):
    run = run_model(warm_copy, tmp_path, models="mlp", extra_env={"ATEN_CPU_CAPABILITY": "default"})
    assert_correct(run)
    assert run.counter("inductor.fxgraph_cache_miss") == 1, "never loads the other ISA's kernels"
    parts = sorted(p.name for p in (warm_copy.root / "fw").iterdir())
    assert "cpu-DEFAULT" in parts and len(parts) == 2


def test_in_process_init_hook_cold_then_warm(tmp_path):
    mc = __import__("pytest").importorskip("mithril_cache")
    root = tmp_path / "root"
    env = {k: v for k, v in __import__("os").environ.items()
           if not k.startswith(("MITHRIL_", "TORCHINDUCTOR_", "TRITON_"))}
    env["MITHRIL_DEMO_INIT_ROOT"] = str(root)
    results = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        p = subprocess.run([sys.executable, "-m", "mithril_cache.demo_model", "--models", "tfm"],
                           env={**env, "MITHRIL_DEMO_OUT": str(out)}, capture_output=True, timeout=300)
        assert p.returncode == 0, p.stderr.decode()
        results.append(json.loads(out.read_text()))
    assert results[0]["counters"].get("inductor.fxgraph_cache_miss") == 1
    assert results[1]["counters"].get("inductor.fxgraph_cache_hit") == 1
    s = mc.stats(root=root)
    assert s["framework_entries"] > 0


def test_bundle_warms_a_fresh_root(warm_copy, tmp_path, mithril_bin):
    bundle = tmp_path / "warm.tar.zst"
    warm_copy.run("pack", bundle)
    fresh = Mithril(mithril_bin, tmp_path / "another" / "machine" / "root")
    p = fresh.run("unpack", bundle)
    assert "unpacked" in p.stderr.decode()
    before = so_files(fresh.root)
    run = run_model(fresh, tmp_path)
    assert_correct(run)
    assert run.counter("inductor.fxgraph_cache_hit") == 2
    assert so_files(fresh.root) == before, "the bundle alone gives a warm start: nothing recompiled"

"""The types of the package against what the bindings really return: every
report dict has exactly the keys (and value types) of its TypedDict in
mithril_cache.reports, and _core.pyi matches the compiled module (mypy's
stubtest). Either drifting fails here."""

import os
import pathlib
import subprocess
import sys
import typing

import pytest

mc = pytest.importorskip("mithril_cache")
from mithril_cache import reports  # noqa: E402

PRIMITIVES = (int, float, str, bool)
ALLOWLIST = pathlib.Path(__file__).with_name("stubtest_allowlist.txt")  # what pybind11 does differently, each said why


def assert_matches(value, hint, where):
    """`value` is of type `hint` (a TypedDict, Dict[str, X] or a primitive), keys exactly as declared."""
    if typing.is_typeddict(hint):
        assert isinstance(value, dict), f"{where}: {type(value).__name__}, not a dict"
        declared = typing.get_type_hints(hint)
        assert set(value) == set(declared), (
            f"{where} ({hint.__name__}): returned but not declared {sorted(set(value) - set(declared))}, "
            f"declared but not returned {sorted(set(declared) - set(value))}"
        )
        for key, sub in declared.items():
            assert_matches(value[key], sub, f"{where}[{key!r}]")
    elif typing.get_origin(hint) is typing.Union and type(None) in typing.get_args(hint):
        if value is not None:
            (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
            assert_matches(value, inner, where)
    elif typing.get_origin(hint) is list:
        (item_type,) = typing.get_args(hint)
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            assert_matches(item, item_type, f"{where}[{i}]")
    elif typing.get_origin(hint) is dict:
        key_type, value_type = typing.get_args(hint)
        assert isinstance(value, dict), where
        assert value, f"{where}: empty, so its values' keys went unchecked (the test must fill it)"
        for key, sub in value.items():
            assert type(key) is key_type, f"{where}: key {key!r}"
            assert_matches(sub, value_type, f"{where}[{key!r}]")
    else:
        assert hint in PRIMITIVES, f"{where}: unexpected annotation {hint}"
        assert type(value) is hint, f"{where}: {value!r} is {type(value).__name__}, declared {hint.__name__}"


def add_framework_entry(root, part):
    ind = mc._core.framework_dirs(str(root), part)["TORCHINDUCTOR_CACHE_DIR"]
    os.makedirs(os.path.join(ind, "fxgraph", "ab", "fabc"), exist_ok=True)
    with open(os.path.join(ind, "fxgraph", "ab", "fabc", "entry"), "wb") as fh:
        fh.write(b"graph bytes" * 100)


@pytest.fixture
def filled(tmp_path):
    """A root with a keyed entry and a recorded framework entry."""
    part = mc.DeviceClass.detect()
    cache = mc.open_cache(root=tmp_path / "a")
    cache.put_entry(mc.CacheKey("g"), {"k.so": b"x" * 1000})
    assert cache.get_entry(mc.CacheKey("g")) is not None
    add_framework_entry(tmp_path / "a", part)
    return cache, part


def test_stats_report(filled):
    cache, part = filled
    cache.sync_frameworks(part)
    stats = cache.stats()
    assert_matches(stats, reports.StatsReport, "stats()")
    assert stats["frameworks"], "a framework kind, so FrameworkKindStats is checked too"
    assert stats["top_entries"] and stats["last_run"] is not None, "so TopEntry and LastRun are checked too"
    assert_matches(mc.stats(root=stats["root"]), reports.StatsReport, "mithril_cache.stats()")


def test_gc_and_verify_reports(filled):
    cache, _ = filled
    assert_matches(cache.gc(), reports.GcReport, "gc()")
    assert_matches(cache.gc(1), reports.GcReport, "gc(1)")
    assert_matches(cache.verify(), reports.VerifyReport, "verify()")
    assert_matches(cache.verify(repair=True), reports.VerifyReport, "verify(repair=True)")


def test_framework_reports(filled):
    cache, part = filled
    assert_matches(cache.check_frameworks(part), reports.FrameworkReport, "check_frameworks()")
    assert_matches(cache.sync_frameworks(part), reports.FrameworkReport, "sync_frameworks()")
    assert_matches(cache.sync_frameworks(part, [], []), reports.FrameworkReport, "sync_frameworks(changed=[])")
    session = mc._core.RunSession(cache.config)
    prepared = session.prepare()
    assert_matches(prepared, reports.PrepareResult, "RunSession.prepare()")
    assert prepared["check"] is not None, "the check ran, so its report was checked"
    finished = session.finish()
    assert_matches(finished, reports.FinishResult, "RunSession.finish()")
    assert finished["synced"] is not None, "the recording ran, so its report was checked"


def test_bundle_reports(filled, tmp_path):
    cache, part = filled
    bundle = str(tmp_path / "b.tar.zst")
    assert_matches(cache.pack_frameworks(part, bundle), reports.BundleReport, "pack_frameworks()")
    other = mc.open_cache(root=tmp_path / "b")
    assert_matches(other.unpack_frameworks(bundle), reports.BundleReport, "unpack_frameworks()")


def test_sync_reports(filled, tmp_path):
    cache, part = filled
    cache.sync_frameworks(part)
    remote = f"file://{tmp_path / 'shared'}"
    pushed = cache.push(part, remote)
    assert_matches(pushed, reports.SyncReport, "push()")
    assert pushed["entries_transferred"] == 1
    other = mc.open_cache(root=tmp_path / "b")
    assert_matches(other.pull(part, remote), reports.SyncReport, "pull()")
    assert_matches(other.pull(part, remote, bounded=True), reports.SyncReport, "pull(bounded=True)")


def test_manager_reports(tmp_path):
    """What init()'s manager hands back: check_report, pull_report, stats(), gc(), close()."""
    code = f"""
import json, os, sys, mithril_cache
mgr = mithril_cache.init(root={str(tmp_path / "root")!r}, remote={f"file://{tmp_path / 'shared'}"!r})
d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
os.makedirs(d + "/fxgraph/ab/fabc", exist_ok=True)
open(d + "/fxgraph/ab/fabc/entry", "w").write("graph")
# gc() records what torch wrote first, so stats() after it has a per-kind row.
json.dump({{"check": mgr.check_report, "pull": mgr.pull_report, "gc": mgr.gc("1G"), "stats": mgr.stats(),
           "close": mgr.close(), "push": mgr.push_report}}, sys.stdout)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MITHRIL_", "TORCHINDUCTOR_", "TRITON_"))}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    import json

    got = json.loads(p.stdout)
    for name, td in [
        ("check", reports.FrameworkReport),
        ("pull", reports.SyncReport),
        ("gc", reports.GcReport),
        ("close", reports.FrameworkReport),
        ("push", reports.SyncReport),
    ]:
        assert_matches(got[name], td, f"CacheManager {name}")
    assert got["stats"]["frameworks"], "a framework entry was recorded, so the per-kind rows were checked"
    assert_matches(got["stats"], reports.StatsReport, "CacheManager stats")


def test_every_report_type_is_exported():
    declared = {name for name, obj in vars(reports).items() if typing.is_typeddict(obj)}
    assert set(reports.__all__) == declared


def test_stub_matches_the_compiled_module(tmp_path):
    """mypy's stubtest: every name of _core.pyi exists in the module and
    the other way round, with compatible kinds (function, class, property)."""
    pytest.importorskip("mypy.stubtest")
    # Outside the checkout, so stubtest checks the installed package's stub and reads no project config.
    p = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "mithril_cache._core", "--allowlist", str(ALLOWLIST)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr

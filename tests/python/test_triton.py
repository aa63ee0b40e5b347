"""mithril_cache.triton.CacheManager against Triton's real classes (no GPU needed)."""
import json
import os
import shutil

import pytest

triton = pytest.importorskip("triton")
from triton import knobs  # noqa: E402
from triton.runtime import cache as triton_cache  # noqa: E402

from mithril_cache.triton import CacheManager  # noqa: E402


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    d = tmp_path / "triton"
    monkeypatch.setattr(knobs.cache, "dir", str(d))
    return d


def fill(mgr):
    paths = {
        "k.cubin": mgr.put(b"\x7fELF" + os.urandom(2000), "k.cubin"),
        "k.json": mgr.put(json.dumps({"name": "k"}), "k.json", binary=False),
    }
    mgr.put_group("k.json", paths)
    return paths


def test_selected_by_triton_through_the_environment(cache_dir, monkeypatch):
    monkeypatch.setenv("TRITON_CACHE_MANAGER", "mithril_cache.triton:CacheManager")
    monkeypatch.setattr(knobs.cache, "manager_class", knobs.cache.manager_class, raising=False)
    mgr = triton_cache.get_cache_manager("ab" * 32)  # Triton keys are hex
    assert isinstance(mgr, CacheManager)
    assert isinstance(mgr, triton_cache.FileCacheManager)


def test_group_round_trip_with_digests(cache_dir):
    mgr = CacheManager("key1")
    paths = fill(mgr)
    assert mgr.get_group("k.json") == paths
    grp = json.loads(open(mgr._make_path("__grp__k.json")).read())
    assert grp["mithril"]["children"]["k.cubin"]["path"] == "k.cubin"
    assert len(grp["mithril"]["children"]["k.cubin"]["blake3"]) == 64


def test_corrupt_child_makes_the_group_a_miss(cache_dir):
    mgr = CacheManager("key2")
    paths = fill(mgr)
    with open(paths["k.cubin"], "r+b") as fh:
        fh.seek(100)
        fh.write(b"\0\0\0\0")
    assert mgr.get_group("k.json") is None
    assert not os.path.exists(mgr._make_path("__grp__k.json")), "moved aside"
    assert os.path.exists(mgr._make_path("__grp__k.json.corrupt"))


def test_missing_child_is_never_committed_or_returned(cache_dir):
    mgr = CacheManager("key3")
    paths = fill(mgr)
    os.remove(paths["k.json"])
    assert mgr.get_group("k.json") is None
    mgr2 = CacheManager("key4")
    mgr2.put_group("k.json", {"k.cubin": str(cache_dir / "key4" / "absent.cubin")})
    assert not os.path.exists(mgr2._make_path("__grp__k.json"))


def test_moved_cache_still_hits(cache_dir, tmp_path, monkeypatch):
    mgr = CacheManager("key5")
    fill(mgr)
    # A plain Triton group with absolute paths, as FileCacheManager writes it.
    plain = triton_cache.FileCacheManager("key6")
    p = plain.put(b"data", "x.bin")
    plain.put_group("x.json", {"x.bin": p})
    moved = tmp_path / "elsewhere" / "much" / "deeper"
    shutil.copytree(cache_dir, moved)
    shutil.rmtree(cache_dir)
    monkeypatch.setattr(knobs.cache, "dir", str(moved))
    assert CacheManager("key5").get_group("k.json")["k.cubin"] == str(moved / "key5" / "k.cubin")
    assert CacheManager("key6").get_group("x.json") == {"x.bin": str(moved / "key6" / "x.bin")}

"""The Python package built by `pip install .`: API, errors, init() hooks."""
import os
import subprocess
import sys
import textwrap
import threading

import pytest

mc = pytest.importorskip("mithril_cache")


def test_blobs_and_entries_round_trip(tmp_path):
    cache = mc.open_cache(root=tmp_path / "root")
    d = cache.put_blob(b"payload")
    assert d == mc._core.blake3_hex(b"payload")
    assert cache.get_blob(d) == b"payload"
    assert cache.get_blob("0" * 64) is None
    key = mc.CacheKey("graph", [mc.InputSpec([8, -1], "float32")], mc.DeviceClass.cpu("AVX2"), "torch-2.13.0")
    cache.put_entry(key, {"kernel.so": b"\x7fELF...", "wrapper.py": b"print(1)"})
    assert cache.get_entry(key) == {"kernel.so": b"\x7fELF...", "wrapper.py": b"print(1)"}
    other = mc.CacheKey("graph", [mc.InputSpec([8, -1], "float32")], mc.DeviceClass.cpu("AVX512"), "torch-2.13.0")
    assert cache.get_entry(other) is None
    s = cache.stats()
    assert s["entries"] == 2 and s["counters"]["hits"] == 2 and s["counters"]["misses"] == 2


def test_errors_are_typed_exceptions_with_clear_messages(tmp_path):
    with pytest.raises(mc.InvalidArgumentError, match="invalid size '12Q'"):
        mc.load_config(root=tmp_path, max_size="12Q")
    with pytest.raises(ValueError):  # InvalidArgumentError is a ValueError too
        mc.load_config(root=tmp_path, compression_level=99)
    cache = mc.open_cache(root=tmp_path / "r")
    with pytest.raises(mc.InvalidArgumentError, match="unsafe entry file name"):
        cache.put_entry(mc.CacheKey("g"), {"../escape": b""})
    with pytest.raises(ValueError, match="not a digest"):
        cache.get_blob("xyz")
    with pytest.raises(mc.CacheIOError):
        cache.put_file(str(tmp_path / "missing"))


def test_every_error_code_has_a_row_and_an_exception_class():
    rows = mc._core._error_table()
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    for code, name, description, exit_code, class_name in rows:
        cls = getattr(mc, class_name)
        assert issubclass(cls, mc.MithrilError), (code, class_name)
        assert name and description and exit_code == 1
    assert getattr(mc, rows[-1][4]) is mc.MithrilError  # kInternal: the base class


def test_key_digest_matches_the_cli(tmp_path):
    key = mc.CacheKey("g", [mc.InputSpec([8, -1], "float32")], mc.DeviceClass.parse("cpu-AVX2"))
    out = subprocess.run(["mithril", "key", "--graph", "g", "--input", "8x?:float32", "--device", "cpu-AVX2"],
                         capture_output=True, check=True).stdout.decode().strip()
    assert key.digest() == out
    assert mc.CacheKey.deserialize(key.serialize()) == key
    assert "input[0].shape [8, ?]" in key.debug_dump()


def test_threads_share_a_cache_with_the_gil_released(tmp_path):
    cache = mc.open_cache(root=tmp_path / "root")
    errors = []

    def work(t):
        try:
            for i in range(50):
                d = cache.put_blob(os.urandom(4096))
                assert cache.get_blob(d) is not None
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.stats()["entries"] == 200


def run_python(code, env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, env=env, timeout=120)


def test_init_points_frameworks_into_the_root(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MITHRIL_", "TORCHINDUCTOR_", "TRITON_"))}
    p = run_python(f"""
        import os, mithril_cache
        mgr = mithril_cache.init(root={str(tmp_path / 'root')!r}, max_size="1G")
        print(os.environ["TORCHINDUCTOR_CACHE_DIR"])
        print(os.environ["TRITON_CACHE_DIR"])
        d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        os.makedirs(d + "/fxgraph/ab/fabc", exist_ok=True)
        open(d + "/fxgraph/ab/fabc/entry", "w").write("graph")
    """, env)
    assert p.returncode == 0, p.stderr.decode()
    lines = p.stdout.decode().split()
    part = str(mc.DeviceClass.detect())
    assert lines[0] == str(tmp_path / "root" / "fw" / part / "inductor")
    assert lines[1] == str(tmp_path / "root" / "fw" / part / "triton")
    s = mc.stats(root=tmp_path / "root")
    assert s["framework_entries"] == 1, "recorded at exit"


def test_init_with_a_remote_pulls_at_start_and_pushes_at_exit(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MITHRIL_", "TORCHINDUCTOR_", "TRITON_"))}
    remote = f"file://{tmp_path / 'shared'}"
    a = run_python(f"""
        import os, mithril_cache
        mithril_cache.init(root={str(tmp_path / 'a')!r}, remote={remote!r})
        d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        os.makedirs(d + "/fxgraph/ab/fabc", exist_ok=True)
        open(d + "/fxgraph/ab/fabc/entry", "w").write("graph" * 100)
    """, env)
    assert a.returncode == 0, a.stderr.decode()
    assert mc.stats(root=tmp_path / "a")["counters"]["remote_pushed"] == 1
    b = run_python(f"""
        import os, mithril_cache
        mgr = mithril_cache.init(root={str(tmp_path / 'b')!r}, remote={remote!r})
        print(mgr.pull_report["entries_transferred"])
        print(open(os.environ["TORCHINDUCTOR_CACHE_DIR"] + "/fxgraph/ab/fabc/entry").read() == "graph" * 100)
    """, env)
    assert b.returncode == 0, b.stderr.decode()
    assert b.stdout.decode().split() == ["1", "True"]
    dead = run_python(f"""
        import mithril_cache
        mgr = mithril_cache.init(root={str(tmp_path / 'c')!r}, remote="redis://127.0.0.1:1",
                                 remote_connect_timeout_ms=500)
        print(mgr.pull_report["errors"], mgr.pull_report["remote_gave_up"])
    """, env)
    assert dead.returncode == 0, dead.stderr.decode()
    assert dead.stdout.decode().split() == ["1", "True"]
    assert "mithril: pull" in dead.stderr.decode()  # a warning, not an exception


def test_init_respects_a_variable_the_user_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MITHRIL_", "TRITON_"))}
    env["TORCHINDUCTOR_CACHE_DIR"] = str(tmp_path / "mine")
    p = run_python(f"""
        import os, mithril_cache
        mgr = mithril_cache.init(root={str(tmp_path / 'root')!r})
        print(os.environ["TORCHINDUCTOR_CACHE_DIR"])
        print(sorted(mgr.managed))
    """, env)
    assert p.returncode == 0, p.stderr.decode()
    out = p.stdout.decode().splitlines()
    assert out[0] == str(tmp_path / "mine")
    assert out[1] == "['TRITON_CACHE_DIR']"
    assert "leaving it alone" in p.stderr.decode()


def test_content_store_verifies_and_quarantines(tmp_path):
    store = mc.ContentStore.open(str(tmp_path / "objects"), compress=True)
    d = store.put(b"x" * 10000)
    assert store.has(d) and store.get(d) == b"x" * 10000
    path = tmp_path / "objects" / d[:2] / d[2:4] / (d + ".zst")
    path.write_bytes(path.read_bytes()[:5])
    with pytest.raises(mc.CorruptionError, match="quarantined"):
        store.get(d)
    assert not store.has(d)


def test_explain_names_the_field_that_made_a_miss(tmp_path):
    root = tmp_path / "root"
    cache = mc.open_cache(root=root)
    cached = mc.CacheKey("graph-1", [mc.InputSpec([8, 32], "float32")], mc.DeviceClass.cpu("AVX2"), "torch-2.13.0")
    cache.put_entry(cached, {"k.so": b"x"})
    cache.put_entry(mc.CacheKey("other", [], mc.DeviceClass.cpu("AVX2")), {"k.so": b"y"})
    del cache
    base = ["mithril", "--root", str(root), "explain", "--graph", "graph-1", "--device", "cpu-AVX2",
            "--salt", "torch-2.13.0"]
    miss = subprocess.run(base + ["--input", "8x?:float32"], capture_output=True)
    assert miss.returncode == 1
    out = miss.stdout.decode()
    assert "nearest cached entry: " + cached.digest() in out
    assert "input[0].shape: [8, ?] vs [8, 32]" in out
    hit = subprocess.run(base + ["--input", "8x32:float32"], capture_output=True)
    assert hit.returncode == 0 and hit.stdout.decode().startswith("hit: ")


def test_pack_and_unpack_from_python(tmp_path):
    part = mc.DeviceClass.detect()
    src = mc.open_cache(root=tmp_path / "a")
    ind = mc._core.framework_dirs(str(tmp_path / "a"), part)["TORCHINDUCTOR_CACHE_DIR"]
    os.makedirs(os.path.join(ind, "fxgraph", "ab", "fabc"))
    with open(os.path.join(ind, "fxgraph", "ab", "fabc", "entry"), "wb") as fh:
        fh.write(b"graph bytes")
    report = src.pack_frameworks(part, str(tmp_path / "b.tar.zst"))
    assert report["files"] == 1 and report["partition"] == str(part)
    dst = mc.open_cache(root=tmp_path / "b")
    assert dst.unpack_frameworks(str(tmp_path / "b.tar.zst"))["files"] == 1
    assert dst.stats()["framework_entries"] == 1
    with pytest.raises(mc.MithrilError):
        dst.unpack_frameworks(str(tmp_path / "missing.tar.zst"))


def test_init_explain_records_torch_cache_keys_silently(tmp_path):
    """init(explain=True) captures torch's FX graph cache key details (here
    fed in torch's exact log format) into <root>/explain/torch-keys.jsonl,
    without printing them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MITHRIL_", "TORCHINDUCTOR_", "TRITON_"))}
    p = run_python(f"""
        import logging, mithril_cache
        mithril_cache.init(root={str(tmp_path / 'root')!r}, explain=True)
        log = logging.getLogger("torch._inductor.codecache")
        log.debug("FX graph cache hash details for key fk1:\\n[aaa] inductor_config[flag]: False\\n[bbb] torch_version: x")
        log.info("fx graph cache miss for key %s", "fk1")
        log.info("fx graph cache hit for key %s", "fk2")
    """, env)
    assert p.returncode == 0, p.stderr.decode()
    assert b"hash details" not in p.stderr
    import json
    lines = [json.loads(l) for l in (tmp_path / "root" / "explain" / "torch-keys.jsonl").read_text().splitlines()]
    assert [(l["key"], l["outcome"]) for l in lines] == [("fk1", "miss"), ("fk2", "hit")]
    assert lines[0]["components"]["inductor_config[flag]"] == ["aaa", "False"]

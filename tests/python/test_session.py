"""init() / CacheManager run the library's RunSession, the cycle `mithril run`
runs: they fail open the same way (MithrilWarning, torch keeps its defaults),
finish as a context manager, and gc()/stats() match `mithril gc` /
`mithril stats --json`."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

mc = pytest.importorskip("mithril_cache")

FRAMEWORK_VARS = ("TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")

# Runs `body` after init(...) in a fresh interpreter; prints the warnings
# (category: message) and the framework variables as JSON on the last line.
PROBE = """
import json, os, warnings
warnings.simplefilter("always")
import mithril_cache
with warnings.catch_warnings(record=True) as caught:
    mgr = mithril_cache.init({args})
{body}
print(json.dumps({{
    "warnings": [[w.category.__name__, issubclass(w.category, UserWarning), str(w.message)] for w in caught],
    "env": {{v: os.environ.get(v) for v in {vars!r}}},
    "managed": mgr.managed,
}}))
"""


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MITHRIL_", "TORCHINDUCTOR_", "TRITON_"))}
    env.update(extra)
    return env


def probe(args, env, body=""):
    code = PROBE.format(args=args, body=textwrap.dedent(body), vars=FRAMEWORK_VARS)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    return json.loads(p.stdout.decode().splitlines()[-1]), p


def assert_fails_open(out, needle):
    """Warned with MithrilWarning (a UserWarning), set no variable, manages nothing."""
    assert out["env"] == {v: None for v in FRAMEWORK_VARS}
    assert out["managed"] == {}
    assert any(cat == "MithrilWarning" and is_user and needle in msg for cat, is_user, msg in out["warnings"]), out


def test_a_file_in_the_way_of_the_root_is_a_warning(tmp_path):
    (tmp_path / "root").write_text("not a directory")
    out, _ = probe(f"root={str(tmp_path / 'root')!r}", clean_env())
    assert_fails_open(out, "without the cache")


def test_a_root_below_a_file_is_a_warning(tmp_path):
    (tmp_path / "file").write_text("x")
    out, _ = probe(f"root={str(tmp_path / 'file' / 'root')!r}", clean_env())
    assert_fails_open(out, "without the cache")


def test_a_root_others_can_write_is_a_warning(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    root.chmod(0o777)
    out, _ = probe(f"root={str(root)!r}", clean_env())
    assert_fails_open(out, "without the cache")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_a_root_without_permission_is_a_warning(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        out, _ = probe(f"root={str(parent / 'root')!r}", clean_env())
    finally:
        parent.chmod(0o700)
    assert_fails_open(out, "without the cache")


@contextlib.contextmanager
def read_only(path):
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "--bind", "-o", "ro", str(path), str(path)], capture_output=True).returncode != 0:
        pytest.skip("bind mounts are not permitted here (needs root)")
    try:
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_a_read_only_root_is_a_warning_like_mithril_run(tmp_path):
    root = tmp_path / "root"
    first, _ = probe(f"root={str(root)!r}", clean_env())  # creates the framework directories
    assert first["warnings"] == [] and sorted(first["managed"]) == sorted(FRAMEWORK_VARS)
    with read_only(root):
        out, _ = probe(f"root={str(root)!r}", clean_env())
    assert_fails_open(out, "not writable")


def test_a_bad_value_in_the_environment_is_a_warning(tmp_path):
    out, _ = probe(f"root={str(tmp_path / 'root')!r}", clean_env(MITHRIL_MAX_SIZE="lots"))
    assert_fails_open(out, "configuration unusable")


def test_a_bad_argument_still_raises(tmp_path):
    code = f"import mithril_cache\nmithril_cache.init(root={str(tmp_path / 'root')!r}, max_size='lots')"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, env=clean_env(), timeout=120)
    assert p.returncode != 0 and b"InvalidArgumentError" in p.stderr


def test_the_with_block_finishes_the_session(tmp_path):
    out, p = probe(f"root={str(tmp_path / 'root')!r}", clean_env(), """
        with mgr as m:
            d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
            os.makedirs(d + "/fxgraph/ab/fabc", exist_ok=True)
            open(d + "/fxgraph/ab/fabc/entry", "w").write("graph")
        print("recorded", mithril_cache.stats(root=m.config.root)["framework_entries"])
        print("again", m.close())
        print("new session", mithril_cache.init(root=m.config.root) is not m)
    """)
    lines = p.stdout.decode().splitlines()
    assert lines[:3] == ["recorded 1", "again None", "new session True"]
    assert out["warnings"] == []


def test_a_second_init_returns_the_running_manager(tmp_path):
    root = str(tmp_path / "root")
    out, p = probe(f"root={root!r}", clean_env(), f"""
        with warnings.catch_warnings(record=True) as second:
            same = mithril_cache.init(root={root!r})
            other = mithril_cache.init(root={root!r}, max_size="1G")
        print(same is mgr, other is mgr, [(w.category.__name__, str(w.message)) for w in second])
    """)
    line = p.stdout.decode().splitlines()[0]
    assert line.startswith("True True [('MithrilWarning', ")
    assert line.count("MithrilWarning") == 1 and "other arguments" in line


def test_gc_records_what_the_frameworks_wrote_first(tmp_path):
    _, p = probe(f"root={str(tmp_path / 'root')!r}", clean_env(), """
        d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        os.makedirs(d + "/fxgraph/ab/fabc", exist_ok=True)
        open(d + "/fxgraph/ab/fabc/entry", "w").write("graph" * 1000)
        before = mgr.stats()["framework_entries"]
        report = mgr.gc()
        print(before, mgr.stats()["framework_entries"], report["evicted_entries"])
        report = mgr.gc(max_size=0)
        print(mgr.stats()["framework_entries"], report["evicted_entries"])
    """)
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "0 1 0", "gc() synced before collecting, like `mithril gc`"
    assert lines[1] == "0 1"


def test_stats_has_the_fields_of_the_cli_json(tmp_path):
    root = tmp_path / "root"
    _, p = probe(f"root={str(root)!r}", clean_env(), """
        d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
        os.makedirs(d + "/fxgraph/ab/fabc", exist_ok=True)
        open(d + "/fxgraph/ab/fabc/entry", "w").write("graph")
        mgr.close()
        print(json.dumps(mgr.stats()))
    """)
    from_python = json.loads(p.stdout.decode().splitlines()[0])
    assert from_python["schema_version"] == 1
    assert from_python["last_run"]["framework_compiled"] == 1
    assert [e["kind"] for e in from_python["top_entries"]] == ["inductor-fxgraph"]
    kind = from_python["frameworks"]["inductor-fxgraph"]
    assert {"compile_ms_saved", "evictions", "evicted_bytes", "quarantined", "compiled"} <= set(kind)
    assert mc.stats(root=root) == mc.open_cache(root=root).stats()
    cli = subprocess.run(["mithril", "--root", str(root), "stats", "--json"], capture_output=True, env=clean_env())
    assert cli.returncode == 0, cli.stderr.decode()
    from_cli = json.loads(cli.stdout)

    def shape(doc):
        if isinstance(doc, dict):
            return {k: shape(v) for k, v in doc.items()}
        if isinstance(doc, list):
            return [shape(v) for v in doc]
        return type(doc).__name__

    assert shape(from_python) == shape(from_cli)

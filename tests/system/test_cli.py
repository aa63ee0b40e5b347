"""System tests: the real `mithril` binary on a real file system."""
import json
import re
import os
import signal
import subprocess
import time

import pytest


def write(path, data):
    path.write_bytes(data)
    return path


def b3sum(path):
    return subprocess.run(["b3sum", "--no-names", str(path)], check=True, capture_output=True).stdout.decode().strip()


def test_put_names_objects_like_b3sum(mithril, tmp_path):
    f = write(tmp_path / "a.so", os.urandom(300_000))
    out = mithril.run("put", f).stdout.decode()
    assert out == f"{b3sum(f)}  {f}\n"
    got = tmp_path / "back.so"
    mithril.run("get", b3sum(f), "-o", got)
    assert got.read_bytes() == f.read_bytes()
    assert mithril.run("get", b3sum(f)).stdout == f.read_bytes()


def test_stats_json_reports_sizes_and_counters(mithril, tmp_path):
    f = write(tmp_path / "x", b"x" * 5000)
    mithril.run("put", f)
    mithril.run("get", b3sum(f))
    mithril.run("get", "0" * 64, check=False)
    s = mithril.stats()
    assert s["schema_version"] == 1
    assert s["stored_bytes"] == 5000
    assert s["entries"] == 1
    assert s["counters"]["hits"] == 1
    assert s["counters"]["misses"] == 1
    assert s["counters"]["puts"] == 1
    table = mithril.run("stats").stdout.decode()
    assert "Hits:" in table and "1 / 2 (50.00 %)" in table


def test_concurrent_puts_from_eight_processes(mithril, tmp_path):
    shared = [write(tmp_path / f"shared{i}", os.urandom(20_000)) for i in range(5)]
    procs = []
    for p in range(8):
        own = [write(tmp_path / f"p{p}_{i}", os.urandom(10_000)) for i in range(20)]
        files = [str(f) for f in own + shared]
        procs.append(subprocess.Popen([mithril.binary, "--root", str(mithril.root), "put", *files],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=mithril.env))
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    s = mithril.stats()
    assert s["entries"] == 8 * 20 + 5
    assert s["objects"] == 8 * 20 + 5
    assert s["stored_bytes"] == 8 * 20 * 10_000 + 5 * 20_000
    assert s["counters"]["errors"] == 0
    report = json.loads(mithril.run("verify", "--json").stdout)
    assert report["corrupt"] == 0 and report["missing"] == 0 and report["orphans"] == 0
    assert not list((mithril.root / "objects" / "tmp").iterdir())


def test_gc_reaches_the_exact_bound_and_keeps_the_newest(mithril, tmp_path):
    digests = []
    for i in range(30):
        f = write(tmp_path / f"f{i}", os.urandom(10_000))
        digests.append(b3sum(f))
        mithril.run("put", f)
        time.sleep(0.002)
    mithril.run("gc", "--max-size", "100K")
    s = mithril.stats()
    assert s["stored_bytes"] <= 100 * 1024
    assert s["entries"] == 10
    listed = {e["key"] for e in json.loads(mithril.run("ls", "--json").stdout)}
    assert listed == set(digests[-10:])


def test_put_over_budget_evicts_automatically(mithril, tmp_path):
    for i in range(20):
        mithril.run("--max-size", "50K", "put", write(tmp_path / f"f{i}", os.urandom(10_000)))
    s = mithril.run("--max-size", "50K", "stats", "--json")
    assert json.loads(s.stdout)["stored_bytes"] <= 50 * 1024


def test_corrupt_object_is_quarantined_and_never_served(mithril, tmp_path):
    f = write(tmp_path / "kernel.so", os.urandom(50_000))
    d = b3sum(f)
    mithril.run("put", f)
    obj = mithril.object_path(d)
    data = bytearray(obj.read_bytes())
    data[1234] ^= 0xFF
    obj.write_bytes(bytes(data))
    out = tmp_path / "out.so"
    p = mithril.run("get", d, "-o", out, check=False)
    assert p.returncode == 1
    assert "not in the cache" in p.stderr.decode()
    assert not out.exists()
    s = mithril.stats()
    assert s["counters"]["corruptions"] == 1
    assert s["quarantined_files"] == 1
    assert s["entries"] == 0


def test_verify_quarantines_bit_rot(mithril, tmp_path):
    good = write(tmp_path / "good", os.urandom(1000))
    bad = write(tmp_path / "bad", os.urandom(1000))
    mithril.run("put", good, bad)
    obj = mithril.object_path(b3sum(bad))
    obj.write_bytes(b"\0" * 1000)
    p = mithril.run("verify", check=False)
    assert p.returncode == 1
    assert re.search(r"Corrupt \(quarantined\):\s+1\n", p.stdout.decode())
    assert "1 corrupt" in p.stderr.decode()
    assert mithril.run("verify").returncode == 0
    assert mithril.run("get", b3sum(good)).stdout == good.read_bytes()


def test_deleted_index_is_rebuilt_from_objects(mithril, tmp_path):
    files = [write(tmp_path / f"f{i}", os.urandom(3000)) for i in range(12)]
    mithril.run("put", *files)
    for name in ("index.db", "index.db-wal", "index.db-shm"):
        (mithril.root / name).unlink(missing_ok=True)
    s = mithril.stats()
    assert s["entries"] == 12
    assert s["stored_bytes"] == 12 * 3000
    for f in files:
        assert mithril.run("get", b3sum(f)).stdout == f.read_bytes()


def test_killed_writer_leaves_no_visible_object(mithril, tmp_path):
    big = tmp_path / "big"
    with open(big, "wb") as fh:
        for _ in range(64):
            fh.write(os.urandom(1 << 20))
    mithril.run("stats")  # create the root
    p = subprocess.Popen([mithril.binary, "--root", str(mithril.root), "put", str(big)], env=mithril.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    report = json.loads(mithril.run("verify", "--json").stdout)
    assert report["corrupt"] == 0 and report["missing"] == 0
    s = mithril.stats()
    assert s["entries"] in (0, 1)
    if s["entries"] == 1:  # the put finished before the kill
        assert mithril.run("get", b3sum(big)).stdout == big.read_bytes()


def test_stale_temp_files_are_collected(mithril, tmp_path):
    mithril.run("stats")
    debris = mithril.root / "objects" / "tmp" / "put.999.1.1"
    debris.write_bytes(b"half an object")
    old = time.time() - 7200
    os.utime(debris, (old, old))
    fresh = mithril.root / "objects" / "tmp" / "put.999.1.2"
    fresh.write_bytes(b"a live writer")
    report = json.loads(mithril.run("gc", "--json").stdout)
    assert report["temp_files_removed"] == 1
    assert not debris.exists() and fresh.exists()


@pytest.mark.parametrize("args, message", [
    (["--max-size", "12Q", "stats"], "invalid size '12Q'"),
    (["gc", "--max-size", "lots"], "invalid size 'lots'"),
    (["get", "not-a-digest"], "is not a digest"),
    (["--set", "compression_level=99", "stats"], "compression_level"),
    (["--set", "nonsense=1", "stats"], "unknown config key 'nonsense'"),
    (["frobnicate"], "frobnicate"),
    (["put", "/definitely/not/here"], "/definitely/not/here"),
])
def test_bad_input_gives_one_clear_line(mithril, args, message):
    p = mithril.run(*args, check=False)
    assert p.returncode in (1, 2)
    err = p.stderr.decode()
    assert message in err, err
    assert "Traceback" not in err and "terminate called" not in err


def config_rows(out):
    """`mithril config` lines as {key: (value, source)}."""
    rows = {}
    for line in out.splitlines():
        name, rest = line.split(" = ", 1)
        value, source = rest.rsplit(" (", 1)
        rows[name.strip()] = (value.strip(), source.split(";")[0])
    return rows


def test_config_precedence_file_env_flag(mithril):
    mithril.root.mkdir(parents=True)
    (mithril.root / "mithril.toml").write_text('max_size = "1G"\ncompression = true\n')
    mithril.env["MITHRIL_COMPRESSION"] = "false"
    rows = config_rows(mithril.run("--max-size", "2G", "config").stdout.decode())
    assert rows["max_size"] == ("2147483648", "override")
    assert rows["compression"] == ("false", "environment")
    rows = config_rows(mithril.run("config").stdout.decode())
    assert rows["max_size"] == ("1073741824", "file")


def test_config_columns_align_with_a_long_value(mithril_bin, tmp_path):
    from mithril_testlib import Mithril
    m = Mithril(mithril_bin, tmp_path / ("a-rather-long-directory-name-" * 4) / "root")
    lines = m.run("config").stdout.decode().splitlines()
    assert len(lines) > 5
    assert len({line.index(" = ") for line in lines}) == 1, lines
    assert len({line.rindex(" (") for line in lines}) == 1, lines
    assert str(m.root) in lines[0]


def test_compressed_root_round_trips(mithril, tmp_path):
    f = write(tmp_path / "code.py", b"def f(x):\n    return x + 1\n" * 4000)
    mithril.run("--set", "compression=true", "put", f)
    s = mithril.stats()
    assert s["stored_bytes"] < s["logical_bytes"] / 10
    assert mithril.run("get", b3sum(f)).stdout == f.read_bytes()


def test_version_and_key_dump(mithril):
    assert mithril.run("--version", root=False).stdout.decode().startswith("mithril ")
    out = mithril.run("key", "--graph", "g", "--input", "8x?:float32", "--device", "cpu-AVX2", "--dump",
                      root=False).stdout.decode()
    assert "input[0].shape [8, ?]" in out and "device cpu-AVX2" in out


def test_stats_prometheus_parses_with_the_reference_parser(mithril, tmp_path):
    parser = pytest.importorskip("prometheus_client.parser")
    f = write(tmp_path / "x", b"y" * 3000)
    mithril.run("put", f)
    mithril.run("get", b3sum(f))
    text = mithril.run("stats", "--prometheus").stdout.decode()
    families = {fam.name: fam for fam in parser.text_string_to_metric_families(text)}
    hits = families["mithril_hits"].samples[0]
    assert hits.value == 1 and hits.labels == {"root": str(mithril.root)}
    assert families["mithril_hits"].type == "counter"
    assert families["mithril_stored_bytes"].samples[0].value == 3000
    assert families["mithril_hit_ratio"].samples[0].value == 1.0


def test_logging_is_silent_by_default_and_json_lines_when_asked(mithril, tmp_path):
    f = write(tmp_path / "x", os.urandom(2000))
    assert mithril.run("put", f).stderr == b""
    mithril.env["MITHRIL_LOG"] = "debug"
    err = mithril.run("get", b3sum(f)).stderr.decode()
    events = [json.loads(line) for line in err.splitlines()]
    assert {"ts", "level", "pid", "event"} <= set(events[0])
    assert any(e["event"] == "hit" and e["key"] == b3sum(f) for e in events)
    log = tmp_path / "mithril.log"
    mithril.env["MITHRIL_LOG"] = "info"
    mithril.env["MITHRIL_LOG_FILE"] = str(log)
    p = mithril.run("gc", "--max-size", "0")
    assert p.stderr == b""
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events if e["event"] in ("evict", "gc")] == ["evict", "gc"]
    assert all(e["level"] != "debug" for e in events)


def test_root_is_private_to_the_user(mithril, tmp_path):
    f = write(tmp_path / "x", b"secret-ish")
    mithril.run("put", f)
    mithril.run("env")
    d = b3sum(f)
    mode = lambda p: oct(os.stat(p).st_mode & 0o777)  # noqa: E731
    assert mode(mithril.root) == "0o700"
    assert mode(mithril.root / "objects" / d[:2]) == "0o700"
    assert mode(mithril.object_path(d)) == "0o600"
    assert all(mode(p) == "0o700" for p in (mithril.root / "fw").rglob("*") if p.is_dir())


def test_run_rebuilds_an_index_damaged_in_a_way_open_cannot_see(mithril, tmp_path):
    """A database whose header is valid but whose pages are not (found by
    fuzz_index): `mithril run` meets the damage mid-step, rebuilds the index
    from the objects once, and records the run; the job is not affected."""
    import pathlib
    import sys
    damaged = pathlib.Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "fuzz_index" / "regress-malformed-page"
    mithril.root.mkdir(parents=True)
    (mithril.root / "index.db").write_bytes(damaged.read_bytes())
    assert mithril.run("stats", check=False).returncode == 1  # the damage is real
    code = ("import os; d = os.environ['TORCHINDUCTOR_CACHE_DIR']; "
            "os.makedirs(d + '/fxgraph/ab/fx', exist_ok=True); open(d + '/fxgraph/ab/fx/entry', 'w').write('x')")
    p = mithril.run("run", "--", sys.executable, "-c", code)
    assert "rebuilding it from the objects" in p.stderr.decode()
    assert mithril.stats()["framework_entries"] == 1


def test_serve_metrics_for_a_scraper(mithril, tmp_path):
    """`mithril serve --metrics` answers scrapes with fresh counters in the
    Prometheus text format (checked by the reference parser), 404s other
    paths, listens on loopback by default and stops cleanly on SIGTERM."""
    import signal
    import socket
    import time
    import urllib.error
    import urllib.request
    from prometheus_client.parser import text_string_to_metric_families
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = tmp_path / "blob"
    f.write_bytes(b"x" * 1000)
    mithril.run("put", f)
    proc = subprocess.Popen([mithril.binary, "--root", str(mithril.root), "serve", "--metrics", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=mithril.env)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                body = urllib.request.urlopen(url + "/metrics", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError(proc.stderr.read1().decode())
        families = {m.name: m for m in text_string_to_metric_families(body)}
        assert families["mithril_entries"].samples[0].value == 1
        mithril.run("get", b3sum(f), "-o", tmp_path / "out")  # a hit, seen by the next scrape
        body = urllib.request.urlopen(url + "/metrics", timeout=2).read().decode()
        hits = {m.name: m for m in text_string_to_metric_families(body)}["mithril_hits"]
        assert hits.samples[0].value == 1
        try:
            urllib.request.urlopen(url + "/nope", timeout=2)
            raise AssertionError("expected 404")
        except urllib.error.HTTPError as e:
            assert e.code == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    bad = mithril.run("serve", "--metrics", "notaport", check=False)
    assert bad.returncode == 2 and "HOST:PORT" in bad.stderr.decode()


# ---- output that speaks to torch users (framework entries first) ----------

# A stand-in for torch: for each name in argv, reads its FX graph cache entry
# when it exists (a hit) and writes it otherwise (a compilation).
FAKE_TORCH = """
import os, sys
d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
sizes = {"fone": 3000, "ftwo": 120000, "fthree": 500, "ffour": 700}
for name in sys.argv[1:]:
    p = os.path.join(d, "fxgraph", name[:3], name, "entry")
    if os.path.exists(p):
        open(p, "rb").read()
        continue
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as fh:
        fh.write(b"x" * sizes[name])
"""


def torch_run(m, *names):
    import sys
    m.run("run", "-q", "--", sys.executable, "-c", FAKE_TORCH, *names)


def label_block(text):
    """The leading `label: value` lines of `mithril stats`, as {label: value};
    asserts the values start in one column."""
    lines = text.split("\n\n")[0].splitlines()
    starts = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}
    assert len(starts) == 1, lines
    return {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines}


def test_stats_leads_with_the_framework_view_and_hides_an_empty_keyed_store(mithril, tmp_path):
    torch_run(mithril, "fone", "ftwo", "fthree")
    torch_run(mithril, "fone", "ftwo", "fthree")
    text = mithril.run("stats").stdout.decode()
    assert text.startswith("Framework hit rate, last run:"), text
    rows = label_block(text)
    assert rows["Framework hit rate, last run"].startswith("100.00 % (3 entries read from the cache, 0 compiled)")
    assert rows["Framework hit rate, lifetime"].startswith("50.00 % (3 entries read from the cache, 3 compiled)")
    assert rows["Framework entries"].startswith("3 (")
    assert rows["Cache size"].endswith("/ 10.0 GiB (0.00 %)")
    assert "Compile time saved" in rows
    assert "Keyed store" not in text and "Hits:" not in text and "Puts:" not in text
    mithril.run("put", write(tmp_path / "blob", b"b" * 1000))
    text = mithril.run("stats").stdout.decode()
    assert text.startswith("Framework hit rate, last run:")
    assert "Keyed store" in text and "Hits:" in text and "1 (1 objects" in text


def test_stats_json_framework_hit_rate_per_run_and_lifetime(mithril, tmp_path):
    s = mithril.stats()
    assert s["framework_hit_rate"] == 0.0 and s["last_run"] is None
    torch_run(mithril, "fone", "ftwo", "fthree")  # creates them: 3 misses
    s = mithril.stats()
    assert s["framework_hit_rate"] == 0.0
    assert s["last_run"]["framework_hits"] == 0 and s["last_run"]["framework_compiled"] == 3
    assert s["last_run"]["framework_hit_rate"] == 0.0
    torch_run(mithril, "fone", "ftwo", "fthree", "ffour")  # reads 3, compiles 1
    s = mithril.stats()
    assert s["last_run"]["framework_hits"] == 3 and s["last_run"]["framework_compiled"] == 1
    assert s["last_run"]["framework_hit_rate"] == 0.75
    assert s["framework_hit_rate"] == 3 / 7
    assert s["hit_rate"] == 0.0  # the keyed store's: no lookups
    mithril.run("gc")  # syncs and records history points, but reads nothing: not "the last run"
    assert mithril.stats()["last_run"] == s["last_run"]
    parser = pytest.importorskip("prometheus_client.parser")
    text = mithril.run("stats", "--prometheus").stdout.decode()
    families = {fam.name: fam for fam in parser.text_string_to_metric_families(text)}
    assert families["mithril_framework_hit_ratio"].samples[0].value == 3 / 7
    assert families["mithril_framework_hit_ratio"].type == "gauge"


def test_prometheus_prints_large_counters_as_exact_integers(mithril, tmp_path):
    mithril.run("put", write(tmp_path / "big", os.urandom(2_128_941)))
    text = mithril.run("stats", "--prometheus").stdout.decode()
    assert f'mithril_bytes_in_total{{root="{mithril.root}"}} 2128941\n' in text
    assert f'mithril_stored_bytes{{root="{mithril.root}"}} 2128941\n' in text
    assert "e+" not in text


def test_ls_lists_framework_entries_with_kind_and_sort(mithril, tmp_path):
    mithril.run("put", write(tmp_path / "blob", b"b" * 50_000))
    torch_run(mithril, "fone", "ftwo", "fthree")
    torch_run(mithril, "fone")
    torch_run(mithril, "fone")
    torch_run(mithril, "fthree")
    short = lambda e: e["name"].rsplit("/", 1)[-1]  # noqa: E731

    def names(*args):
        return [short(e) for e in json.loads(mithril.run("ls", "--json", *args).stdout)]

    blob = b3sum(tmp_path / "blob")
    assert names() == ["fthree", "fone", "ftwo", blob]  # default: last use, newest first
    assert names("--sort", "size") == ["ftwo", blob, "fone", "fthree"]
    by_hits = names("--sort", "hits")
    assert by_hits[:2] == ["fone", "fthree"] and set(by_hits[2:]) == {blob, "ftwo"}  # 2, 1, then 0 hits
    assert names("--sort", "size", "--limit", "1") == ["ftwo"]
    assert names("--kind", "blob") == [blob]
    assert names("--kind", "inductor-fxgraph", "--sort", "size") == ["ftwo", "fone", "fthree"]
    assert names("--kind", "no-such-kind") == []
    listed = json.loads(mithril.run("ls", "--json").stdout)
    fw = next(e for e in listed if short(e) == "fone")
    assert fw["store"] == "framework" and fw["kind"] == "inductor-fxgraph"
    assert fw["size"] == 3000 and fw["hits"] == 2 and "compile_ms" in fw and fw["last_access"].endswith("Z")
    keyed = next(e for e in listed if e["store"] == "keyed")
    assert keyed["key"] == blob and keyed["kind"] == "blob" and keyed["size"] == 50_000
    lines = mithril.run("ls", "--sort", "size").stdout.decode().splitlines()
    assert lines[0].split() == ["KIND", "SIZE", "HITS", "LAST", "USE", "COMPILE", "NAME"]
    assert len(lines) == 5
    column = lines[0].index("NAME")
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in lines), lines
    assert lines[1].startswith("inductor-fxgraph") and lines[1].endswith("/ftwo")
    assert lines[2].startswith("blob") and lines[2].endswith(blob)


def test_help_names_the_program_mithril(mithril):
    out = mithril.run("--help", root=False).stdout.decode()
    assert "Usage: mithril [OPTIONS]" in out and mithril.binary not in out
    assert "Usage: mithril ls [OPTIONS]" in mithril.run("ls", "--help", root=False).stdout.decode()


@pytest.mark.parametrize("args, message", [
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["--bogus"], "unknown option '--bogus'"),
    (["stats", "--bogus"], "unknown option '--bogus'"),
    (["ls", "--limit"], "--limit"),
    (["ls", "--limit", "many"], "many"),
    (["ls", "--sort", "colour"], "colour"),
    (["get"], "digest"),
    (["--root"], "--root"),
])
def test_usage_errors_are_one_line_and_exit_2(mithril, args, message):
    p = mithril.run(*args, check=False, root=False)
    err = p.stderr.decode()
    assert p.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("mithril: error: "), err
    assert message in err, err
    assert p.stdout == b""


def test_verify_checks_framework_files_and_quarantines_a_damaged_kernel(mithril, tmp_path):
    """Issue 11 item 8: verify hashes every framework file, not only objects."""
    torch_run(mithril, "fone", "ftwo")
    v = json.loads(mithril.run("verify", "--json").stdout)
    assert v["framework_files_checked"] == 2 and v["framework_corrupt"] == 0
    entry = next(mithril.root.rglob("ftwo/entry"))
    st = entry.stat()
    data = bytearray(entry.read_bytes())
    data[100] ^= 0xFF  # bit rot that keeps size and mtime: only a full hash sees it
    entry.write_bytes(bytes(data))
    os.utime(entry, ns=(st.st_atime_ns, st.st_mtime_ns))
    p = mithril.run("verify", "--json", check=False)
    assert p.returncode == 1 and "1 corrupt and 0 incomplete framework entries" in p.stderr.decode()
    v = json.loads(p.stdout)
    assert v["framework_corrupt"] == 1 and v["framework_entries_quarantined"] == 1
    assert not entry.exists(), "moved aside: torch recompiles instead of loading it"
    text = mithril.run("verify").stdout.decode()
    assert "Framework files checked" in text

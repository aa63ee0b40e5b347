"""Remote tier against real servers on loopback: moto's S3 API, redis-server,
a plain directory; remotes that are down, hung, corrupt or hostile. The
framework here is a small Python "compiler" writing into
TORCHINDUCTOR_CACHE_DIR (the e2e suite uses real torch.compile)."""
import json
import os
import subprocess
import sys
import time

import pytest

from mithril_testlib import Mithril, inductor_dir, write_files
import remote_servers as rs

COMPILER = """
import os, sys
d = os.environ["TORCHINDUCTOR_CACHE_DIR"]
p = os.path.join(d, "fxgraph", "ab", "fmodel", "entry")
if os.path.exists(p):
    assert open(p, "rb").read() == b"compiled:" + sys.argv[1].encode() * 1000
    print("HIT")
else:
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(b"compiled:" + sys.argv[1].encode() * 1000)
    print("MISS")
"""


def fill(m, files):
    return write_files(inductor_dir(m), files)


FILES = {
    "fxgraph/ab/fabc/entry": os.urandom(3000),
    "aotautograd/aq/entry": b"graph" * 500,
    "cd/ccd.main.cpp": b"int f() { return 1; }",
}


def machines(mithril_bin, tmp_path, env=None):
    a = Mithril(mithril_bin, tmp_path / "machine-a" / "cache")
    b = Mithril(mithril_bin, tmp_path / "elsewhere" / "machine-b" / "root")
    for m in (a, b):
        m.env.update(env or {})
    return a, b


def assert_same_files(b, files):
    d = inductor_dir(b)
    for rel, data in files.items():
        with open(os.path.join(d, rel), "rb") as fh:
            assert fh.read() == data, rel


@pytest.fixture(scope="module")
def s3_endpoint():
    with rs.s3_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def redis_port():
    with rs.redis_server() as port:
        yield port


def test_s3_push_then_pull_on_another_machine(mithril_bin, tmp_path, s3_endpoint):
    url = f"s3://{rs.new_bucket(s3_endpoint)}/team/cache?endpoint={s3_endpoint}"
    a, b = machines(mithril_bin, tmp_path, rs.S3_CREDENTIALS)
    files = dict(FILES, **{"fxgraph/zz/fbig/entry": os.urandom(40 << 20)})  # multipart upload
    fill(a, files)
    pushed = json.loads(a.run("push", "--remote", url, "--json").stdout)
    assert pushed["entries_transferred"] == 4 and pushed["errors"] == 0
    keys = [o["Key"] for o in rs.s3_client(s3_endpoint).list_objects_v2(Bucket=url[5:url.index("/", 5)])["Contents"]]
    assert all(k.startswith("team/cache/v1/") for k in keys), keys
    pulled = json.loads(b.run("pull", "--remote", url, "--json").stdout)
    assert pulled["entries_transferred"] == 4 and pulled["rejected"] == 0
    assert_same_files(b, files)
    s = b.stats()
    assert s["counters"]["remote_pulled"] == 4 and s["framework_entries"] == 4
    assert s["counters"]["framework_new_entries"] == 0
    again = json.loads(b.run("pull", "--remote", url, "--json").stdout)
    assert again["entries_transferred"] == 0 and again["entries_present"] == 4


def test_s3_wrong_credentials_fail_open_with_clear_message(mithril_bin, tmp_path, s3_endpoint):
    url = f"s3://no-such-bucket-{os.getpid()}/x?endpoint={s3_endpoint}"
    a, _ = machines(mithril_bin, tmp_path, rs.S3_CREDENTIALS)
    p = a.run("pull", "--remote", url)
    assert "NoSuchBucket" in p.stderr.decode()
    assert a.run("pull", "--remote", url, "--strict", check=False).returncode == 3
    missing = Mithril(mithril_bin, tmp_path / "nocreds")
    missing.env = {k: v for k, v in missing.env.items() if not k.startswith("AWS_")}
    missing.env["HOME"] = str(tmp_path)
    p = missing.run("pull", "--remote", url, check=False)
    assert p.returncode == 1 and "no AWS credentials" in p.stderr.decode()


def test_s3_credentials_from_shared_file(mithril_bin, tmp_path, s3_endpoint):
    url = f"s3://{rs.new_bucket(s3_endpoint)}?endpoint={s3_endpoint}"
    a, b = machines(mithril_bin, tmp_path)
    (tmp_path / "creds").write_text("[ci]\naws_access_key_id = AKIDFILE\naws_secret_access_key = secret\n")
    for m in (a, b):
        m.env = {k: v for k, v in m.env.items() if not k.startswith("AWS_")}
        m.env.update({"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "creds"), "AWS_PROFILE": "ci"})
    fill(a, FILES)
    assert json.loads(a.run("push", "--remote", url, "--json").stdout)["entries_transferred"] == 3
    assert json.loads(b.run("pull", "--remote", url, "--json").stdout)["entries_transferred"] == 3


def test_redis_with_password_db_prefix_and_ttl(mithril_bin, tmp_path):
    with rs.redis_server(password="pa ss") as port:
        url = f"redis://:pa%20ss@127.0.0.1:{port}/3?prefix=team1:&ttl=600"
        a, b = machines(mithril_bin, tmp_path)
        fill(a, FILES)
        p = a.run("push", "--remote", url)
        assert "pa ss" not in p.stderr.decode() and "pa%20ss" not in p.stderr.decode()
        keys = rs.redis_cli(port, "-n", "3", "--scan", "--pattern", "team1:*", password="pa ss").split()
        assert len(keys) == 3  # 3 manifests; files this small travel inside them
        ttl = int(rs.redis_cli(port, "-n", "3", "TTL", keys[0].decode(), password="pa ss"))
        assert 0 < ttl <= 600
        assert json.loads(b.run("pull", "--remote", url, "--json").stdout)["entries_transferred"] == 3
        assert_same_files(b, FILES)
        wrong = json.loads(b.run("pull", "--remote", f"redis://:bad@127.0.0.1:{port}/3", "--json").stdout)
        assert wrong["errors"] == 1 and "bad" not in wrong["first_problem"]


def test_redis_corrupt_object_is_rejected_and_not_written(mithril_bin, tmp_path, redis_port):
    url = f"redis://127.0.0.1:{redis_port}/0?prefix=corrupt{os.getpid()}:"
    a, b = machines(mithril_bin, tmp_path)
    fill(a, {"fxgraph/ab/fabc/entry": os.urandom(200_000)})  # too big to inline: an object
    a.run("push", "--remote", url)
    prefix = f"corrupt{os.getpid()}:"
    objects = [k.decode() for k in rs.redis_cli(redis_port, "--scan", "--pattern", prefix + "v1/objects/*").split()]
    assert len(objects) == 1
    rs.redis_cli(redis_port, "SET", objects[0], "not a zstd frame")
    r = json.loads(b.run("pull", "--remote", url, "--json").stdout)
    assert r["rejected"] == 1 and r["entries_transferred"] == 0
    assert not os.path.exists(os.path.join(inductor_dir(b), "fxgraph/ab/fabc/entry"))
    assert b.stats()["counters"]["remote_rejected"] == 1


def run_compiler(m, remote, arg="x", timeout=120):
    t0 = time.monotonic()
    p = m.run("run", "--remote", remote, "--", sys.executable, "-c", COMPILER, arg, timeout=timeout)
    return p.stdout.decode().strip(), time.monotonic() - t0, p


def test_run_remote_machine_b_starts_warm(mithril_bin, tmp_path, s3_endpoint):
    url = f"s3://{rs.new_bucket(s3_endpoint)}/ci?endpoint={s3_endpoint}"
    a, b = machines(mithril_bin, tmp_path, rs.S3_CREDENTIALS)
    assert run_compiler(a, url)[0] == "MISS"
    assert run_compiler(b, url)[0] == "HIT"  # pulled before the command ran
    s = b.stats()["counters"]
    assert s["remote_pulled"] == 1 and s["framework_hits"] == 1 and s["framework_new_entries"] == 0
    assert a.stats()["counters"]["remote_pushed"] == 1


@pytest.mark.parametrize("kind", ["refused", "hung"])
@pytest.mark.parametrize("scheme", ["s3", "redis"])
def test_run_with_a_dead_remote_completes_in_bounded_time(mithril_bin, tmp_path, kind, scheme):
    a, _ = machines(mithril_bin, tmp_path, rs.S3_CREDENTIALS)
    a.env.update({"MITHRIL_REMOTE_TIMEOUT_MS": "1000", "MITHRIL_REMOTE_CONNECT_TIMEOUT_MS": "1000"})

    def url(port):
        return f"s3://b/x?endpoint=http://127.0.0.1:{port}" if scheme == "s3" else f"redis://127.0.0.1:{port}"
    if kind == "hung":
        with rs.hanging_server() as port:
            out, took, p = run_compiler(a, url(port))
    else:
        out, took, p = run_compiler(a, url(rs.closed_port()))
    assert out == "MISS" and p.returncode == 0
    # pull and push each give up after one bounded wait (about 1 s when hung);
    # a hang detector with room for a loaded machine (the default deadline is 300 s)
    assert took < 90, took
    c = a.stats()["counters"]
    assert c["framework_new_entries"] == 1
    if kind == "hung":
        assert c["remote_timeouts"] >= 1
    else:
        assert c["remote_errors"] >= 1


def test_hostile_remote_manifest_cannot_escape_the_root(mithril_bin, tmp_path):
    remote = tmp_path / "remote"
    a, b = machines(mithril_bin, tmp_path)
    fill(a, {"fxgraph/ab/fabc/entry": b"x" * 100})
    a.run("push", "--remote", f"file://{remote}")
    [manifest] = list(remote.glob("v1/fw/*/*.json"))
    m = json.loads(manifest.read_text())
    for evil in ["../../../../escaped", "/tmp/escaped-abs"]:
        m["files"][0]["path"] = evil
        manifest.write_text(json.dumps(m))
        r = json.loads(b.run("pull", "--remote", f"file://{remote}", "--json").stdout)
        assert r["rejected"] == 1 and r["entries_transferred"] == 0
        assert "unsafe" in r["first_problem"]
    assert not list(tmp_path.rglob("escaped*"))
    assert not os.path.exists("/tmp/escaped-abs")


def test_tampered_inline_file_is_rejected(mithril_bin, tmp_path):
    """A small file travels inside its manifest: a valid frame of other bytes
    of the same size there is caught by the digest check."""
    import base64
    remote = tmp_path / "remote"
    a, b = machines(mithril_bin, tmp_path)
    fill(a, {"fxgraph/ab/fabc/entry": b"A" * 5000})
    a.run("push", "--remote", f"file://{remote}")
    [manifest] = list(remote.glob("v1/fw/*/*.json"))
    m = json.loads(manifest.read_text())
    assert "zstd" in m["files"][0], "small files are inlined"
    other = tmp_path / "other"
    other.write_bytes(b"B" * 5000)  # from a file, so the frame records its content size
    frame = subprocess.run(["zstd", "-q", "-c", str(other)], capture_output=True, check=True).stdout
    m["files"][0]["zstd"] = base64.b64encode(frame).decode()
    manifest.write_text(json.dumps(m))
    r = json.loads(b.run("pull", "--remote", f"file://{remote}", "--json").stdout)
    assert r["rejected"] == 1 and r["entries_transferred"] == 0
    assert "does not match its digest" in r["first_problem"]
    assert not os.path.exists(os.path.join(inductor_dir(b), "fxgraph/ab/fabc/entry"))


def test_signed_manifests_refuse_a_writer_without_the_key(mithril_bin, tmp_path):
    remote = f"file://{tmp_path / 'remote'}"
    a, b = machines(mithril_bin, tmp_path)
    intruder = Mithril(mithril_bin, tmp_path / "intruder")
    fill(a, {"fxgraph/ab/fabc/entry": b"good" * 100})
    fill(intruder, {"fxgraph/cd/fevil/entry": b"evil" * 100})
    a.env["MITHRIL_REMOTE_HMAC_KEY"] = "team-secret"
    a.run("push", "--remote", remote)
    intruder.run("push", "--remote", remote)  # can write the bucket, has no key
    b.env["MITHRIL_REMOTE_HMAC_KEY"] = "team-secret"
    r = json.loads(b.run("pull", "--remote", remote, "--json").stdout)
    assert r["entries_transferred"] == 1 and r["rejected"] == 1
    assert "not signed" in r["first_problem"]
    d = inductor_dir(b)
    assert os.path.exists(os.path.join(d, "fxgraph/ab/fabc/entry"))
    assert not os.path.exists(os.path.join(d, "fxgraph/cd/fevil/entry"))
    assert "team-secret" not in b.run("config").stdout.decode()


def test_read_only_remote(mithril_bin, tmp_path):
    src, mnt = tmp_path / "shared", tmp_path / "ro-mount"
    a, b = machines(mithril_bin, tmp_path)
    fill(a, FILES)
    a.run("push", "--remote", f"file://{src}")
    p = a.run("push", "--remote", f"file://{src}?mode=ro", check=False)
    assert p.returncode == 1 and "read-only" in p.stderr.decode()
    mnt.mkdir()
    if subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(mnt)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a read-only bind mount here (needs root); mode=ro was checked above")
    try:
        assert subprocess.run(["touch", str(mnt / "probe")], capture_output=True).returncode != 0
        r = json.loads(b.run("pull", "--remote", f"file://{mnt}?mode=ro", "--json").stdout)
        assert r["entries_transferred"] == 3 and r["errors"] == 0
        assert_same_files(b, FILES)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_pull_by_tag(mithril_bin, tmp_path, redis_port):
    url = f"redis://127.0.0.1:{redis_port}/1?prefix=tags{os.getpid()}:"
    a, b = machines(mithril_bin, tmp_path)
    fill(a, {"fxgraph/ab/fone/entry": b"1" * 100})
    a.run("push", "--remote", url, "--tag", "resnet-v1")
    fill(a, {"fxgraph/cd/ftwo/entry": b"2" * 100})
    a.run("push", "--remote", url)
    r = json.loads(b.run("prefetch", "--remote", url, "--tag", "resnet-v1", "--json").stdout)
    assert r["entries_transferred"] == 1
    p = b.run("pull", "--remote", url, "--tag", "unknown", check=False)
    assert p.returncode == 1 and "no tag 'unknown'" in p.stderr.decode()


def test_stats_show_remote_counters(mithril_bin, tmp_path):
    a, _ = machines(mithril_bin, tmp_path)
    a.run("pull", "--remote", f"redis://127.0.0.1:{rs.closed_port()}")
    table = a.run("stats").stdout.decode()
    assert "Remote" in table and "1 errors" in table
    prom = a.run("stats", "--prometheus").stdout.decode()
    assert "mithril_remote_errors_total" in prom

"""The root is a trust boundary (docs/guarantees.md, "Trust boundaries").

Nothing mithril does follows a symlink out of the root, or reads, exports or
deletes a file outside it; a root someone else owns or can write is refused
(and `mithril run` runs the job without the cache); what mithril creates is
private whatever the umask; a file at index.db that is not ours is set aside
untouched; a FIFO or device in an object's place is quarantined without
blocking; imports are all-or-nothing; long names work throughout."""
import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import tarfile
import time

import pytest

from mithril_testlib import Mithril, inductor_dir, write_files

DAY = 86400
PROMPT = 20  # seconds: a command that blocks on a FIFO would hit this


def tree_hash(top):
    """Names, types, modes, link targets and contents of everything under top (no link followed)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, top)}:{stat.S_IFMT(st.st_mode)}:{st.st_mode & 0o7777}".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def file_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def age(path, seconds=2 * DAY):
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)


@pytest.fixture
def sentinel(tmp_path):
    """A tree outside the root that nothing may read into a bundle, change or delete."""
    d = tmp_path / "sentinel"
    write_files(d, {"secret": b"SECRET-" + os.urandom(32), "ab/cd/old": b"old file", "so/k.so": b"\x7fELF" + b"\0" * 60})
    for p in d.rglob("*"):
        age(p)
    return d


def put(m, data, tmp_path, name="blob"):
    f = tmp_path / name
    f.write_bytes(data)
    return m.run("put", f).stdout.decode().split()[0]


def test_symlinks_out_of_the_root_are_never_followed(mithril, tmp_path, sentinel):
    m = mithril
    m.env["MITHRIL_TEMP_MAX_AGE_S"] = "1"
    digest = put(m, b"object behind a symlinked shard", tmp_path)
    keep = put(m, b"an ordinary object", tmp_path, "other")
    fw = inductor_dir(m)
    write_files(fw, {"fxgraph/ab/fabc/entry": b"graph" * 100, "cd/ccd.py": b"print(1)"})
    m.run("gc")  # records the framework entries
    # objects/<2ch> of one object moved outside and linked back in
    shard = m.root / "objects" / digest[:2]
    if digest[:2] != keep[:2]:
        os.rename(shard, sentinel / "shard")
        os.symlink(sentinel / "shard", shard)
    # a stale-looking temp file that is a link to a file outside
    os.symlink(sentinel / "secret", m.root / "objects" / "tmp" / "put.1.2.3")
    age(m.root / "objects" / "tmp" / "put.1.2.3")
    # links in the framework directory: a directory, a kernel, an entry file
    os.symlink(sentinel / "ab", os.path.join(fw, "fxgraph", "zz"))
    os.symlink(sentinel / "so", os.path.join(fw, "ee"))
    os.symlink(sentinel / "so" / "k.so", os.path.join(fw, "cd", "cabc.so"))
    os.symlink(sentinel / "secret", os.path.join(fw, "fxgraph", "ab", "fabc", "stolen"))
    before = tree_hash(sentinel)
    bundle = tmp_path / "out.tar.zst"
    for args in (["verify", "--repair"], ["run", "--", "true"], ["pack", bundle], ["gc", "--max-size", "0"],
                 ["clear"]):
        p = m.run(*args, check=False, timeout=PROMPT)
        assert p.returncode in (0, 1), (args, p.stderr)
        assert tree_hash(sentinel) == before, f"{args} changed a file outside the root"
    secret = (sentinel / "secret").read_bytes()
    raw = subprocess.run(["zstd", "-d", "-c", str(bundle)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:  # packed, without anything read through a link
        for member in tar.getmembers():
            assert not member.issym() and not member.islnk()
            if member.isfile():
                assert secret not in tar.extractfile(member).read()
    # the links were refused: moved into quarantine (as links), never recorded
    for rel in ("fxgraph/zz", "ee", "cd/cabc.so", "fxgraph/ab/fabc/stolen"):
        assert not os.path.lexists(os.path.join(fw, rel)), rel
    quarantined = list((m.root / "quarantine" / "fw").iterdir())
    assert sum(1 for q in quarantined if q.is_symlink()) == 4


def one_line_refusal(p, *words):
    err = p.stderr.decode()
    assert p.returncode != 0
    lines = [l for l in err.splitlines() if l]
    assert len(lines) == 1, err
    assert "refusing cache root" in lines[0], err
    for w in words:
        assert w in lines[0], err


def run_job(m):
    """`mithril run` of a job that prints where torch would cache, exits 3."""
    return m.run("run", "--", "sh", "-c", "echo dir=${TORCHINDUCTOR_CACHE_DIR:-unset}; exit 3", check=False)


def test_root_owned_by_another_user_is_refused_but_the_job_runs(mithril):
    m = mithril
    m.run("stats")
    os.chown(m.root, 65534, 65534)
    one_line_refusal(m.run("stats", check=False), "owned by uid 65534", "MITHRIL_ALLOW_SHARED_ROOT")
    p = run_job(m)
    assert p.returncode == 3 and b"dir=unset" in p.stdout, p
    assert b"refusing cache root" in p.stderr and b"without the cache" in p.stderr
    m.env["MITHRIL_ALLOW_SHARED_ROOT"] = "1"
    m.run("stats")  # deliberately shared: accepted


def test_root_or_subdirectory_writable_by_others_is_refused(mithril):
    m = mithril
    m.run("stats")
    os.chmod(m.root, 0o777)
    one_line_refusal(m.run("stats", check=False), "writable by others", "0777")
    p = run_job(m)
    assert p.returncode == 3 and b"dir=unset" in p.stdout
    m.env["MITHRIL_ALLOW_SHARED_ROOT"] = "1"
    one_line_refusal(m.run("stats", check=False), "writable by others")  # never for others
    os.chmod(m.root, 0o770)
    m.run("stats")  # a group-shared root, with the override
    del m.env["MITHRIL_ALLOW_SHARED_ROOT"]
    one_line_refusal(m.run("stats", check=False), "writable by its group")
    os.chmod(m.root, 0o700)
    os.chmod(m.root / "objects", 0o757)
    one_line_refusal(m.run("verify", check=False), "objects")
    os.chmod(m.root / "objects", 0o700)
    m.run("verify")


def test_symlinked_managed_directory_is_refused(mithril, tmp_path, sentinel):
    m = mithril
    m.run("stats")
    os.rename(m.root / "objects" / "tmp", tmp_path / "tmp-moved")
    os.symlink(sentinel, m.root / "objects" / "tmp")
    before = tree_hash(sentinel)
    one_line_refusal(m.run("gc", check=False), "symlink")
    assert tree_hash(sentinel) == before


def test_everything_created_is_private_under_umask_000(mithril_bin, tmp_path):
    m = Mithril(mithril_bin, tmp_path / "root")
    old = os.umask(0)
    try:
        digest = put(m, b"private", tmp_path)
        fw = inductor_dir(m)
        write_files(fw, {"fxgraph/ab/fabc/entry": b"graph"})
        m.run("run", "--", "true")
        m.run("pack", tmp_path / "b.tar.zst")
        m.object_path(digest).write_bytes(b"damaged")
        m.run("verify", check=False)  # quarantines it
        # SQLite's WAL files take the database file's mode, whoever opens it
        con = sqlite3.connect(m.root / "index.db")
        con.execute("SELECT count(*) FROM entries").fetchone()
        wal_modes = [os.stat(m.root / f"index.db{ext}").st_mode & 0o777 for ext in ("-wal", "-shm")
                     if (m.root / f"index.db{ext}").exists()]
        con.close()
    finally:
        os.umask(old)
    assert wal_modes and set(wal_modes) == {0o600}
    assert stat.S_IMODE(os.stat(tmp_path / "b.tar.zst").st_mode) == 0o600
    for p in [m.root, *m.root.rglob("*")]:
        st = os.lstat(p)
        if "fxgraph" in str(p):
            continue  # written by the job (torch's own modes)
        want = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        assert stat.S_IMODE(st.st_mode) == want, (p, oct(st.st_mode))


def foreign_db(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users(name TEXT)")
    con.execute("INSERT INTO users VALUES ('alice')")
    con.commit()
    con.close()


def test_foreign_index_is_set_aside_unmodified(mithril, tmp_path):
    m = mithril
    digest = put(m, b"survivor", tmp_path)
    (m.root / "index.db").unlink()
    foreign_db(m.root / "index.db")
    before = file_hash(m.root / "index.db")
    assert m.run("get", digest).stdout == b"survivor"  # rebuilt from the objects
    [aside] = list(m.root.glob("index.db.foreign.*"))
    assert file_hash(aside) == before
    # a symlink at index.db, to another program's database outside the root
    other = tmp_path / "app.db"
    foreign_db(other)
    before = file_hash(other)
    for ext in ("", "-wal", "-shm"):
        if (m.root / f"index.db{ext}").exists():
            (m.root / f"index.db{ext}").unlink()
    os.symlink(other, m.root / "index.db")
    assert m.run("get", digest).stdout == b"survivor"
    assert file_hash(other) == before and not (tmp_path / "app.db-wal").exists()
    assert not (m.root / "index.db").is_symlink()
    assert any(p.is_symlink() for p in m.root.glob("index.db.foreign.*"))


def test_index_of_an_earlier_version_without_application_id_is_kept(mithril, tmp_path):
    m = mithril
    put(m, b"one", tmp_path)
    con = sqlite3.connect(m.root / "index.db")
    con.execute("PRAGMA application_id=0")
    con.commit()
    con.close()
    assert m.stats()["counters"]["puts"] == 1  # not rebuilt: the counters survive
    assert not list(m.root.glob("index.db.foreign.*"))


def test_fifo_and_device_in_an_objects_place_are_quarantined_promptly(mithril, tmp_path):
    m = mithril
    a = put(m, b"will be a fifo", tmp_path, "a")
    b = put(m, b"will be /dev/zero", tmp_path, "b")
    m.object_path(a).unlink()
    os.mkfifo(m.object_path(a))
    m.object_path(b).unlink()
    os.symlink("/dev/zero", m.object_path(b))
    p = m.run("get", a, check=False, timeout=PROMPT)
    assert p.returncode == 1 and b"not in the cache" in p.stderr, p.stderr  # a miss, promptly
    p = m.run("verify", "--json", check=False, timeout=PROMPT)
    assert json.loads(p.stdout)["corrupt"] == 1  # b; a was quarantined by the get
    assert not os.path.lexists(m.object_path(a)) and not os.path.lexists(m.object_path(b))
    assert m.stats()["quarantined_files"] == 2


def test_fifo_in_a_framework_directory_never_blocks(mithril):
    m = mithril
    fw = inductor_dir(m)
    write_files(fw, {"fxgraph/ab/fabc/entry": b"graph", "cd/ccd.py": b"x = 1"})
    m.run("gc")
    os.unlink(os.path.join(fw, "cd", "ccd.py"))
    os.mkfifo(os.path.join(fw, "cd", "ccd.py"))  # a recorded file replaced by a FIFO
    os.mkfifo(os.path.join(fw, "cd", "cnew.so"))  # an unrecorded "kernel"
    p = m.run("run", "--", "true", timeout=PROMPT)
    assert p.returncode == 0, p.stderr
    assert not os.path.lexists(os.path.join(fw, "cd", "ccd.py"))
    assert not os.path.lexists(os.path.join(fw, "cd", "cnew.so"))
    m.run("gc", timeout=PROMPT)


def test_quarantined_files_counts_files_not_folders(mithril):
    m = mithril
    fw = inductor_dir(m)
    write_files(fw, {f"fxgraph/ab/fabc/e{i}": b"entry %d" % i for i in range(3)})
    m.run("gc")
    with open(os.path.join(fw, "fxgraph/ab/fabc/e1"), "ab") as f:
        f.write(b"tampered")
    m.run("run", "--", "true")
    assert m.stats()["quarantined_files"] == 3


def bundle(tmp_path, partition, files):
    """A plain tar bundle holding {path: bytes}, with a correct manifest."""
    b3 = lambda d: subprocess.run(["b3sum", "--no-names"], input=d, capture_output=True,  # noqa: E731
                                  check=True).stdout.decode().strip()
    manifest = json.dumps({"format": "mithril-bundle", "version": 1, "partition": partition,
                           "files": [{"path": p, "size": len(d), "blake3": b3(d)} for p, d in files.items()]}).encode()
    path = tmp_path / "conflict.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [("mithril-bundle.json", manifest)] + [("files/" + p, d) for p, d in files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def snapshot(root):
    return sorted(str(p) for p in root.rglob("*") if "index.db" not in p.name)


def test_bundle_whose_files_conflict_leaves_nothing_behind(mithril, tmp_path):
    m = mithril
    fw = inductor_dir(m)
    part = os.path.basename(os.path.dirname(fw))
    write_files(fw, {"fxgraph/ab/here": b"a local file"})
    m.run("gc")
    before = snapshot(m.root)
    p = m.run("unpack", bundle(tmp_path, part, {"inductor/a": b"1", "inductor/a/b": b"2"}), check=False)
    assert p.returncode != 0 and b"both as a file and as a directory" in p.stderr, p.stderr
    assert snapshot(m.root) == before
    # a conflict with what is on disk shows only while extracting: still nothing stays
    files = {"inductor/new/dir/x": b"x", "inductor/fxgraph/ab/here/y": b"y", "inductor/zz/z": b"z"}
    p = m.run("unpack", bundle(tmp_path, part, files), check=False)
    assert p.returncode != 0, p.stderr
    assert snapshot(m.root) == before


def test_pulled_entry_whose_files_conflict_is_rejected(mithril_bin, tmp_path):
    remote = tmp_path / "remote"
    a = Mithril(mithril_bin, tmp_path / "a")
    b = Mithril(mithril_bin, tmp_path / "b")
    write_files(inductor_dir(a), {"fxgraph/ab/fabc/entry": b"x" * 100})
    a.run("push", "--remote", f"file://{remote}")
    [manifest] = list(remote.glob("v1/fw/*/*.json"))
    doc = json.loads(manifest.read_text())
    doc["files"].append(dict(doc["files"][0], path=doc["files"][0]["path"] + "/b"))
    manifest.write_text(json.dumps(doc))
    r = json.loads(b.run("pull", "--remote", f"file://{remote}", "--json").stdout)
    assert r["rejected"] == 1 and r["entries_transferred"] == 0
    assert "both as a file and as a directory" in r["first_problem"]
    assert not os.path.exists(os.path.join(inductor_dir(b), "fxgraph", "ab"))


def test_long_names_work_through_pack_unpack_pull_and_quarantine(mithril_bin, tmp_path):
    a = Mithril(mithril_bin, tmp_path / "a")
    long_dir = "f" + "d" * 254  # NAME_MAX components
    long_file = "e" * 255
    rel = f"fxgraph/ab/{long_dir}/{long_file}"
    write_files(inductor_dir(a), {rel: b"long" * 50})
    a.run("gc")
    assert a.stats()["framework_entries"] == 1
    b = Mithril(mithril_bin, tmp_path / "b")
    a.run("pack", tmp_path / "long.tar.zst")
    p = b.run("unpack", tmp_path / "long.tar.zst")
    assert (open(os.path.join(inductor_dir(b), rel), "rb").read()) == b"long" * 50, p.stderr
    c = Mithril(mithril_bin, tmp_path / "c")
    a.run("push", "--remote", f"file://{tmp_path / 'remote'}")
    r = json.loads(c.run("pull", "--remote", f"file://{tmp_path / 'remote'}", "--json").stdout)
    assert r["entries_transferred"] == 1, r
    assert open(os.path.join(inductor_dir(c), rel), "rb").read() == b"long" * 50
    with open(os.path.join(inductor_dir(c), rel), "ab") as f:
        f.write(b"tampered")
    c.run("run", "--", "true")
    assert not os.path.exists(os.path.join(inductor_dir(c), rel))
    assert c.stats()["quarantined_files"] == 1
    assert c.stats()["framework_entries"] == 0

"""mithril pack / unpack: a portable bundle of a partition's framework cache,
and hostile bundles that must be refused without writing anything."""
import io
import json
import os
import subprocess
import tarfile

import pytest

from mithril_testlib import inductor_dir, write_files


def fill(d):
    files = {
        "fxgraph/ab/fabc/entry": os.urandom(3000),
        "cd/ccd.main.cpp": b"int f() { return 1; }",
        "cd/ccd.main.so": b"\x7fELF" + os.urandom(500),
        "aotautograd/aq/entry": os.urandom(700),
    }
    write_files(d, files)
    return files


def b3(data):
    return subprocess.run(["b3sum", "--no-names"], input=data, capture_output=True, check=True).stdout.decode().strip()


def test_pack_then_unpack_into_another_root(mithril, tmp_path, mithril_bin):
    from mithril_testlib import Mithril
    files = fill(inductor_dir(mithril))
    bundle = tmp_path / "warm.tar.zst"
    p = mithril.run("pack", bundle)
    assert "packed 4 files" in p.stderr.decode()
    other = Mithril(mithril_bin, tmp_path / "elsewhere" / "root")
    p = other.run("unpack", bundle)
    assert "unpacked 4 files" in p.stderr.decode()
    dest = inductor_dir(other)
    for rel, data in files.items():
        with open(os.path.join(dest, rel), "rb") as fh:
            assert fh.read() == data
    assert other.stats()["framework_entries"] == 3
    again = other.run("unpack", bundle)
    assert "0 files" in again.stderr.decode() and "4 already present" in again.stderr.decode()


def hostile(tmp_path, members, manifest_files=None, partition=None):
    """A plain tar (no zstd) with a manifest and the given (name, data, type) members."""
    path = tmp_path / "hostile.tar"
    if manifest_files is None:
        manifest_files = [{"path": n[len("files/"):], "size": len(d), "blake3": b3(d)}
                          for n, d, t in members if n.startswith("files/") and t == tarfile.REGTYPE]
    manifest = json.dumps({"format": "mithril-bundle", "version": 1,
                           "partition": partition or "cpu-AVX2", "files": manifest_files}).encode()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("mithril-bundle.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            if kind == tarfile.REGTYPE:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                info.linkname = "/etc/passwd"
                tar.addfile(info)
    return path


@pytest.mark.parametrize("members, manifest, message", [
    ([("files/../escape", b"x", tarfile.REGTYPE)], None, "unsafe"),
    ([("files//etc/cron.d/x", b"x", tarfile.REGTYPE)], [{"path": "/etc/cron.d/x", "size": 1, "blake3": "0" * 64}],
     "absolute path"),
    ([("files/inductor/link", b"", tarfile.SYMTYPE)], [], "is a link"),
    ([("files/inductor/hard", b"", tarfile.LNKTYPE)], [], "is a link"),
    ([("files/inductor/dev", b"", tarfile.CHRTYPE)], [], "not a regular file"),
    ([("other/x", b"x", tarfile.REGTYPE)], [], "outside files/"),
    ([("files/inductor/a", b"abc", tarfile.REGTYPE)], [], "not in the manifest"),
    ([("files/inductor/a", b"abc", tarfile.REGTYPE)], [{"path": "inductor/a", "size": 999, "blake3": "0" * 64}],
     "size other than"),
    ([("files/inductor/a", b"abc", tarfile.REGTYPE)], [{"path": "inductor/a", "size": 3, "blake3": "1" * 64}],
     "does not match its manifest digest"),
    ([], [{"path": "inductor/missing", "size": 1, "blake3": "0" * 64}], "missing"),
])
def test_hostile_bundles_are_refused_and_write_nothing(mithril, tmp_path, members, manifest, message):
    part = os.path.basename(os.path.dirname(inductor_dir(mithril)))
    path = hostile(tmp_path, members, manifest, partition=part)
    mithril.run("stats")  # the root exists before the attempt
    before = sorted(str(p) for p in mithril.root.rglob("*") if "index.db" not in p.name)
    p = mithril.run("unpack", path, check=False)
    assert p.returncode != 0
    err = p.stderr.decode()
    assert message in err, err
    assert "Traceback" not in err
    after = sorted(str(p) for p in mithril.root.rglob("*") if "index.db" not in p.name)
    assert after == before, "nothing was written"
    assert not (tmp_path / "escape").exists()


def test_bundle_larger_than_the_budget_is_refused(mithril, tmp_path):
    part = os.path.basename(os.path.dirname(inductor_dir(mithril)))
    data = os.urandom(200_000)
    path = hostile(tmp_path, [("files/inductor/big", data, tarfile.REGTYPE)], partition=part)
    p = mithril.run("--max-size", "100K", "unpack", path, check=False)
    assert p.returncode != 0 and "larger than the cache budget" in p.stderr.decode()

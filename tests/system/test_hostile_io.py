"""Issue 11, items 1, 6 and 9: the files and streams a user points mithril at.

Outputs (`get -o`, `pack`, `report -o`) never replace what is not ours: a
character device or a FIFO is written through, a symlink, a directory or a
block device is refused before anything is written. Lost output (a full
disk, a closed stdout) is an error; `put -` refuses a directory or a closed
stdin instead of storing the empty blob, and a stream stops at the budget.
Empty or absurd global options are usage errors."""
import hashlib
import os
import pathlib
import stat
import subprocess
import threading

import pytest

EMPTY_BLAKE3 = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"


def put(m, tmp_path, data=b"hello hostile world\n"):
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    return m.run("put", src).stdout.decode().split()[0]


def one_error_line(p):
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mithril: error: "), lines
    return lines[0]


def tree_digest(d):
    """(path, type, content digest) of everything under d, links not followed."""
    out = []
    for dirpath, dirnames, filenames in os.walk(d):
        for n in sorted(dirnames + filenames):
            p = pathlib.Path(dirpath) / n
            st = p.lstat()
            data = p.read_bytes() if stat.S_ISREG(st.st_mode) else os.readlink(p).encode() if p.is_symlink() else b""
            out.append((str(p), stat.S_IFMT(st.st_mode), hashlib.sha256(data).hexdigest()))
    return sorted(out)


@pytest.fixture
def sentinel(tmp_path):
    d = tmp_path / "outside"
    d.mkdir()
    (d / "precious.txt").write_bytes(b"not mithril's\n")
    return d


@pytest.mark.parametrize("command", ["get", "pack", "report"])
def test_hostile_symlink_output_is_refused_and_its_target_kept(mithril, tmp_path, sentinel, command):
    digest = put(mithril, tmp_path)
    link = tmp_path / "out"
    link.symlink_to(sentinel / "precious.txt")
    before = tree_digest(sentinel)
    args = {"get": ["get", digest, "-o", link], "pack": ["pack", link], "report": ["report", "-o", link]}[command]
    p = mithril.run(*args, check=False)
    assert p.returncode != 0
    assert "symbolic link" in one_error_line(p)
    assert link.is_symlink(), "the link itself was not replaced"
    assert tree_digest(sentinel) == before, "nothing outside the root changed"
    assert not [x for x in tmp_path.iterdir() if ".mithril-tmp." in x.name], "no temp file left behind"


@pytest.mark.parametrize("command", ["get", "pack", "report"])
def test_hostile_directory_output_is_refused(mithril, tmp_path, command):
    digest = put(mithril, tmp_path)
    d = tmp_path / "adir"
    d.mkdir()
    args = {"get": ["get", digest, "-o", d], "pack": ["pack", d], "report": ["report", "-o", d]}[command]
    p = mithril.run(*args, check=False)
    assert p.returncode != 0 and "a directory" in one_error_line(p)
    assert d.is_dir() and list(d.iterdir()) == []


def test_char_device_output_is_written_through_not_replaced(mithril, tmp_path):
    digest = put(mithril, tmp_path)
    # A private device node, so the test never touches the real /dev/null.
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    for args in (["get", digest, "-o", node], ["pack", node], ["report", "-o", node]):
        mithril.run(*args)
        assert stat.S_ISCHR(node.lstat().st_mode), f"{args[0]} replaced the device by a regular file"


def test_fifo_output_is_written_through(mithril, tmp_path):
    data = b"through the pipe\n" * 1000
    digest = put(mithril, tmp_path, data)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    mithril.run("get", digest, "-o", fifo, timeout=60)
    reader.join(60)
    assert got == [data]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_regular_output_is_replaced_atomically(mithril, tmp_path):
    digest = put(mithril, tmp_path, b"new content\n")
    out = tmp_path / "out.bin"
    out.write_bytes(b"old")
    mithril.run("get", digest, "-o", out)
    assert out.read_bytes() == b"new content\n"


@pytest.mark.parametrize("args", [["stats"], ["stats", "--json"], ["ls"], ["config"], ["get", "DIGEST"]])
def test_output_to_a_full_disk_is_an_error(mithril, tmp_path, args):
    digest = put(mithril, tmp_path, b"x" * 100_000)
    args = [digest if a == "DIGEST" else a for a in args]
    with open("/dev/full", "wb") as full:
        p = subprocess.run([mithril.binary, "--root", str(mithril.root)] + args, stdout=full,
                           stderr=subprocess.PIPE, env=mithril.env, timeout=60)
    assert p.returncode == 1
    assert "writing to standard output" in one_error_line(p)


def test_closed_stdout_is_an_error(mithril, tmp_path):
    put(mithril, tmp_path)
    p = subprocess.run([mithril.binary, "--root", str(mithril.root), "stats"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=mithril.env, timeout=60,
                       preexec_fn=lambda: os.close(1))
    assert p.returncode == 1 and "writing to standard output" in one_error_line(p)


def test_put_stdin_refuses_a_directory_and_a_closed_stdin(mithril, tmp_path):
    d = os.open(tmp_path, os.O_RDONLY)
    try:
        p = subprocess.run([mithril.binary, "--root", str(mithril.root), "put", "-"], stdin=d, capture_output=True,
                           env=mithril.env, timeout=60)
    finally:
        os.close(d)
    assert p.returncode == 1 and "directory" in one_error_line(p)
    p = subprocess.run([mithril.binary, "--root", str(mithril.root), "put", "-"], capture_output=True,
                       env=mithril.env, timeout=60, preexec_fn=lambda: os.close(0))
    assert p.returncode == 1 and "closed" in one_error_line(p)
    assert mithril.stats()["entries"] == 0, "nothing stored, not the empty blob"
    assert not mithril.object_path(EMPTY_BLAKE3).exists()


def test_put_of_an_endless_stream_stops_at_the_budget(mithril, tmp_path):
    with open("/dev/zero", "rb") as zero:
        p = subprocess.run([mithril.binary, "--root", str(mithril.root), "--max-size", "2M", "put", "-"], stdin=zero,
                           capture_output=True, env=mithril.env, timeout=120)
    assert p.returncode == 1 and "budget" in one_error_line(p)
    used = sum(f.stat().st_size for f in mithril.root.rglob("*") if f.is_file() and "index.db" not in f.name and f.name != "space-reserve")
    assert used < 2 * 1024 * 1024, "the partial stream was not kept"
    assert p.stdout == b"", "no digest printed for an object that is not stored"


def test_put_of_a_file_larger_than_the_budget_says_so(mithril, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    p = mithril.run("--max-size", "1M", "put", big, check=False)
    assert p.returncode == 1 and "budget" in one_error_line(p) and p.stdout == b""


@pytest.mark.parametrize("args, word", [(["--root", ""], "root"), (["--max-size", ""], "size"),
                                        (["--max-size", "9000000T"], "too large"),
                                        (["--max-size", "99999999999999999999P"], "too large")])
def test_bad_input_global_options_are_usage_errors(mithril, args, word):
    p = mithril.run(*args, "stats", check=False, root=False)
    assert p.returncode == 2 and word in one_error_line(p)


def test_bad_input_config_file_is_named_and_a_usage_error(mithril, tmp_path):
    mithril.run("stats")
    (mithril.root / "mithril.toml").write_text("max_size = \"lots\"\n")
    p = mithril.run("stats", check=False)
    assert p.returncode == 2 and "mithril.toml" in one_error_line(p)
    (mithril.root / "mithril.toml").write_text("max_size = [\n")
    p = mithril.run("stats", check=False)
    assert p.returncode == 2 and "mithril.toml" in p.stderr.decode()


def test_hostile_idle_and_trickling_clients_do_not_starve_scrapes(mithril, tmp_path):
    """Issue 11 item 7: 40 connections that send nothing or one header byte
    at a time hold no scrape back; counters are exact integers."""
    import signal
    import socket
    import time
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    big = tmp_path / "big"
    big.write_bytes(os.urandom(3_000_000))
    mithril.run("put", big)
    proc = subprocess.Popen([mithril.binary, "--root", str(mithril.root), "serve", "--metrics", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=mithril.env)
    url = f"http://127.0.0.1:{port}/metrics"
    hogs = []
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                time.sleep(0.05)
        for i in range(40):
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                c.sendall(b"GET /metr")  # a trickler that never finishes its request line
            hogs.append(c)
        time.sleep(0.5)
        for _ in range(5):
            body = urllib.request.urlopen(url, timeout=30).read().decode()
            line = [ln for ln in body.splitlines() if ln.startswith("mithril_stored_bytes")][0]
            assert line.split()[-1].isdigit(), line  # 3000000, never 3e+06
            for c in hogs[1::2]:
                try:
                    c.sendall(b"i")
                except OSError:
                    pass  # the server already dropped it: fine
    finally:
        for c in hogs:
            c.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_run_waits_for_a_compiler_the_killed_job_left_writing(mithril, tmp_path):
    """Issue 11 item 8: the job exits (as if killed) while a process it
    started still writes a kernel file; the run records the file only when
    that process has finished, so the next run finds it valid, not a
    'digest mismatch' to quarantine."""
    import sys
    orphan = ("import os, sys, time; p = sys.argv[1]; os.makedirs(os.path.dirname(p), exist_ok=True); "
              "f = open(p, 'wb'); f.write(b'a' * 5000); f.flush(); time.sleep(1.5); f.write(b'b' * 5000); f.close()")
    job = ("import os, subprocess, sys; d = os.environ['TORCHINDUCTOR_CACHE_DIR']; "
           "subprocess.Popen([sys.executable, '-c', sys.argv[1], os.path.join(d, 'fxgraph', 'ab', 'fabc', 'entry')], "
           "start_new_session=True); os._exit(137)")
    p = mithril.run("run", "--", sys.executable, "-c", job, orphan, check=False, timeout=120)
    assert p.returncode == 137, "the job's own exit code"
    entry = next(mithril.root.rglob("fabc/entry"))
    assert entry.stat().st_size == 10_000
    mithril.run("run", "--", "true")
    s = mithril.stats()
    assert s["framework_entries"] == 1 and s["counters"]["corruptions"] == 0 and s["quarantined_files"] == 0
    assert entry.read_bytes() == b"a" * 5000 + b"b" * 5000

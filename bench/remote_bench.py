"""Remote-tier benchmark, every figure measured side by side in one run on
loopback servers this script starts (moto S3, redis-server):

1. pull of 500 small entries and of 4 x 64 MiB entries: `mithril pull` vs a
   sequential boto3 download of the same objects, and vs raw loopback TCP
   bandwidth (targets: >= 3x boto3 on small entries, >= 80% of loopback on
   large ones);
2. bytes stored remotely vs the framework's raw cache size after a real
   torch.compile run (target <= 0.6x);
3. fresh-machine start: cold (no cache), mithril local warm, a fresh root
   warmed through the remote (`mithril run --remote`), and torch's own
   portable cache (save_cache_artifacts / load_cache_artifacts) on an empty
   torch cache (target: remote start <= 1.2x local warm).

    python3 bench/remote_bench.py [--mithril build/cli/mithril] [--skip-torch]
"""
import argparse
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
import remote_servers as rs  # noqa: E402

DEMO = REPO / "python" / "mithril_cache" / "demo_model.py"


def run(cmd, env, check=True):
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], env=env, capture_output=True)
    took = time.perf_counter() - t0
    if check and p.returncode != 0:
        sys.exit(f"failed: {cmd}\n{p.stderr.decode()[-3000:]}")
    return took, p


def fill(mithril, root, env, entries):
    """Writes fake framework entries {rel: bytes} into root's inductor dir."""
    out = subprocess.run([mithril, "--root", root, "env"], env=env, capture_output=True, check=True).stdout.decode()
    d = [l for l in out.splitlines() if "TORCHINDUCTOR" in l][0].split("=", 1)[1].strip("'")
    for rel, data in entries.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(data)


def loopback_bandwidth(total=1 << 30):
    """Bytes/s of one TCP stream over 127.0.0.1 (a second thread reads)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = [0]

    def sink():
        c, _ = srv.accept()
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            got[0] += len(b)
        c.close()
    t = threading.Thread(target=sink)
    t.start()
    buf = os.urandom(1 << 20)
    s = socket.create_connection(srv.getsockname())
    t0 = time.perf_counter()
    for _ in range(total >> 20):
        s.sendall(buf)
    s.close()
    t.join()
    took = time.perf_counter() - t0
    srv.close()
    return got[0] / took


def boto3_sequential(endpoint, bucket, prefix, dest):
    """Lists the prefix and downloads every object into a file, one after the
    other (what a script with boto3 does to fetch a cache)."""
    c = rs.s3_client(endpoint)
    t0 = time.perf_counter()
    keys, token = [], None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        r = c.list_objects_v2(**kw)
        keys += [o["Key"] for o in r.get("Contents", [])]
        if not r.get("IsTruncated"):
            break
        token = r["NextContinuationToken"]
    n = 0
    os.makedirs(dest, exist_ok=True)
    for i, k in enumerate(keys):
        data = c.get_object(Bucket=bucket, Key=k)["Body"].read()
        with open(os.path.join(dest, str(i)), "wb") as fh:
            fh.write(data)
        n += len(data)
    took = time.perf_counter() - t0
    shutil.rmtree(dest)
    return took, len(keys), n


def transfer_bench(mithril, work, env, endpoint, label, entries, repeats):
    bucket = rs.new_bucket(endpoint)
    url = f"s3://{bucket}/b?endpoint={endpoint}"
    src = work / f"src-{label}"
    fill(mithril, src, env, entries)
    run([mithril, "--root", src, "push", "--remote", url], env)
    m_times, b_times = [], []
    for i in range(repeats):
        dst = work / f"dst-{label}-{i}"
        took, p = run([mithril, "--root", dst, "pull", "--remote", url, "--json"], env)
        r = json.loads(p.stdout)
        assert r["entries_transferred"] == len(entries) and r["errors"] == 0, r
        m_times.append(took)
        shutil.rmtree(dst)
        bt, nkeys, nbytes = boto3_sequential(endpoint, bucket, "b/", work / f"boto3-{label}-{i}")
        b_times.append(bt)
    return statistics.median(m_times), statistics.median(b_times), nkeys, nbytes, r["wire_bytes"]


def compressible(n, seed):
    """Bytes that compress like compiled artifacts (mixed text and binary)."""
    import random
    rnd = random.Random(seed)
    words = [os.urandom(8).hex().encode() for _ in range(64)] + [bytes(rnd.getrandbits(8) for _ in range(64))]
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words)
    return bytes(out[:n])


def torch_bench(mithril, work, env, endpoint, repeats):
    model = [sys.executable, DEMO]
    clean = {k: v for k, v in env.items() if not k.startswith(("TORCHINDUCTOR_", "TRITON_"))}
    url = f"s3://{rs.new_bucket(endpoint)}/fleet?endpoint={endpoint}"
    rows = []
    a_root = work / "machine-a"
    cold, _ = run([mithril, "--root", a_root, "run", "-q", "--remote", url, "--"] + model, clean)
    rows.append(("cold: empty cache, compiles everything (machine A, then pushes)", cold))
    warm = [run([mithril, "--root", a_root, "run", "-q", "--"] + model, clean)[0] for _ in range(repeats)]
    local_warm = statistics.median(warm)
    rows.append((f"mithril local warm (machine A), median of {repeats}", local_warm))
    fresh = []
    for i in range(repeats):
        b_root = work / f"machine-b-{i}" / "x" / "root"
        fresh.append(run([mithril, "--root", b_root, "run", "-q", "--remote", url, "--"] + model, clean)[0])
    rows.append((f"fresh machine via the remote (pull + run), median of {repeats}", statistics.median(fresh)))
    # torch's portable cache: saved on a machine that compiled, loaded on an empty one.
    art = work / "torch-artifacts.bin"
    t_env = dict(clean, TORCHINDUCTOR_CACHE_DIR=str(work / "torch-a"), MITHRIL_DEMO_SAVE_ARTIFACTS=str(art))
    run(model, t_env)
    loads = []
    for i in range(repeats):
        l_env = dict(clean, TORCHINDUCTOR_CACHE_DIR=str(work / f"torch-b-{i}"), MITHRIL_DEMO_LOAD_ARTIFACTS=str(art))
        loads.append(run(model, l_env)[0])
    rows.append((f"torch save/load_cache_artifacts on an empty cache ({art.stat().st_size} B), median of {repeats}",
                 statistics.median(loads)))
    # Remote bytes vs raw framework cache bytes (a file:// remote measures exactly).
    fw_bytes = sum(p.stat().st_size for p in (a_root / "fw").rglob("*") if p.is_file())
    remote_dir = work / "remote-dir"
    run([mithril, "--root", a_root, "push", "--remote", f"file://{remote_dir}"], clean)
    remote_bytes = sum(p.stat().st_size for p in remote_dir.rglob("*") if p.is_file())
    return rows, local_warm, fw_bytes, remote_bytes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mithril", default=str(REPO / "build" / "cli" / "mithril"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-torch", action="store_true")
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="mithril-remote-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MITHRIL_")}
    env.update(rs.S3_CREDENTIALS)
    try:
        with rs.s3_server() as endpoint:
            loop = loopback_bandwidth()
            small = {f"fxgraph/{i:03x}/f{i:05x}/entry": compressible(16 << 10, i) for i in range(500)}
            ms, bs, nkeys, nbytes, wire = transfer_bench(args.mithril, work, env, endpoint, "small", small, args.repeats)
            big = {f"fxgraph/b{i}/fbig{i}/entry": os.urandom(64 << 20) for i in range(4)}
            mb, bb, bkeys, bbytes, bwire = transfer_bench(args.mithril, work, env, endpoint, "big", big, args.repeats)
            print("## Transfers from moto S3 on loopback (median of %d)\n" % args.repeats)
            print("| workload | mithril pull s | boto3 sequential s | boto3 s / mithril s | mithril MB/s (wire) |")
            print("|---|---|---|---|---|")
            print(f"| 500 entries x 16 KiB ({nkeys} objects) | {ms:.2f} | {bs:.2f} | {bs / ms:.2f}x "
                  f"(target >= 3x) | {wire / ms / 1e6:.0f} |")
            print(f"| 4 entries x 64 MiB ({bkeys} objects) | {mb:.2f} | {bb:.2f} | {bb / mb:.2f}x | "
                  f"{bwire / mb / 1e6:.0f} |")
            print(f"\nloopback TCP, one stream: {loop / 1e6:.0f} MB/s; mithril large pull = "
                  f"{bwire / mb / loop * 100:.0f}% of it (target >= 80%); boto3 = {bbytes / bb / loop * 100:.0f}%")
            if not args.skip_torch:
                rows, local_warm, fw_bytes, remote_bytes = torch_bench(args.mithril, work, env, endpoint, args.repeats)
                print("\n## Fresh-machine start of the demo model (process wall time)\n")
                print("| run | wall s | vs mithril local warm |")
                print("|---|---|---|")
                for name, t in rows:
                    print(f"| {name} | {t:.2f} | {t / local_warm:.2f}x |")
                print(f"\nremote bytes {remote_bytes} vs raw framework cache {fw_bytes}: "
                      f"{remote_bytes / fw_bytes:.2f}x (target <= 0.6x)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

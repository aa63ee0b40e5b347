"""Real servers for the remote-tier tests and benchmarks, on 127.0.0.1 only,
started and stopped by the tests themselves with bounded waits: moto's S3 API
server (PyPI moto[server]) and Debian's redis-server. Plus a socket that
accepts connections and never answers (a hung remote)."""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "mithril-test", "AWS_SECRET_ACCESS_KEY": "mithril-test-secret",
                  "AWS_DEFAULT_REGION": "us-east-1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(check, what, proc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{what} was not ready after {timeout} s")


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def s3_server():
    """Yields the endpoint URL of a fresh moto S3 server."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: urllib.request.urlopen(endpoint + "/", timeout=1).status == 200, "moto server", proc)
        yield endpoint
    finally:
        _stop(proc)


def s3_client(endpoint):
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])


def new_bucket(endpoint):
    name = "mithril-" + uuid.uuid4().hex[:12]
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


@contextlib.contextmanager
def redis_server(password=None):
    """Yields the port of a fresh, non-persistent redis-server."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if password:
        args += ["--requirepass", password]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ready():
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    try:
        _wait(ready, "redis-server", proc)
        yield port
    finally:
        _stop(proc)


def redis_cli(port, *args, password=None):
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)] + (["-a", password, "--no-auth-warning"] if password else [])
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, check=True, timeout=30).stdout


@contextlib.contextmanager
def hanging_server():
    """A TCP port that accepts connections and never answers."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    held, stop = [], threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(sock.accept()[0])
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        t.join(timeout=5)
        for c in held:
            c.close()
        sock.close()


def closed_port():
    """A port nothing listens on (connection refused)."""
    return free_port()


def with_env(mithril, extra):
    mithril.env = dict(mithril.env, **extra)
    return mithril

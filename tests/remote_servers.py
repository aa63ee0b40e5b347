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


# ---- misbehaving servers (tests/system/test_hostile_remote.py) ----

def _listener():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


class _LoopbackServer:
    """Listens on 127.0.0.1 (self.port) and calls self._accept(connection)
    in a thread for every connection until self.stop is set."""

    def _start(self):
        self.sock = _listener()
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c = self.sock.accept()[0]
            except OSError:
                continue
            self._accept(c)

class WrongType:
    """GET of this key answers -WRONGTYPE (a hash or list under our key)."""


class Trickle:
    """GET answers `data` one byte every `delay` seconds (slow loris)."""

    def __init__(self, data, delay=0.1):
        self.data, self.delay = data, delay


class HugeBulk:
    """GET declares a bulk string of `declared` bytes and then streams zeros
    as fast as the client reads, until it hangs up."""

    def __init__(self, declared=4_000_000_000):
        self.declared = declared


class HugeArray:
    """GET declares an array of two billion elements."""


def _resp_bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def _read_command(f):
    line = f.readline()
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()  # inline command
    args = []
    for _ in range(int(line[1:])):
        n = int(f.readline()[1:])
        args.append(f.read(n + 2)[:n])
    return args


class FakeRedis(_LoopbackServer):
    """A RESP server on 127.0.0.1 serving `data` ({key bytes: bytes or one of
    the behaviours above}). `scan` is "normal" (one page), "forever" (cursor
    never returns to 0) or "huge_array" (declares two billion keys)."""

    def __init__(self, data, scan="normal"):
        self.data, self.scan = dict(data), scan
        self.conns = []
        self._start()

    def _accept(self, c):
        self.conns.append(c)
        threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        with contextlib.suppress(OSError, ValueError):
            f = c.makefile("rb")
            while not self.stop.is_set():
                args = _read_command(f)
                if args is None:
                    return
                if not self._answer(c, [a.decode() if i == 0 else a for i, a in enumerate(args)]):
                    return

    def _answer(self, c, args):
        cmd = args[0].upper()
        if cmd == "SCAN":
            return self._scan(c, args)
        if cmd == "GET":
            return self._get(c, self.data.get(args[1]))
        if cmd == "GETRANGE":
            v = self.data.get(args[1], b"")
            start, end = int(args[2]), int(args[3])
            if isinstance(v, Trickle):
                v = Trickle(v.data[start:end + 1], v.delay)
            elif isinstance(v, bytes):
                v = v[start:end + 1]
            return self._get(c, v)
        if cmd == "SET":
            self.data[args[1]] = args[2]
            c.sendall(b"+OK\r\n")
        elif cmd in ("EXISTS", "DEL"):
            c.sendall(b":%d\r\n" % (args[1] in self.data))
        else:  # AUTH, SELECT, PING
            c.sendall(b"+OK\r\n")
        return True

    def _scan(self, c, args):
        if self.scan == "forever":
            c.sendall(b"*2\r\n$1\r\n1\r\n*0\r\n")
            return True
        if self.scan == "huge_array":
            c.sendall(b"*2\r\n$1\r\n0\r\n*2000000000\r\n")
            return True
        prefix = args[args.index(b"MATCH") + 1].rstrip(b"*").replace(b"\\", b"")
        keys = [k for k in self.data if k.startswith(prefix)]
        c.sendall(b"*2\r\n$1\r\n0\r\n*%d\r\n" % len(keys) + b"".join(_resp_bulk(k) for k in keys))
        return True

    def _get(self, c, v):
        if v is None:
            c.sendall(b"$-1\r\n")
        elif isinstance(v, WrongType):
            c.sendall(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
        elif isinstance(v, HugeArray):
            c.sendall(b"*2000000000\r\n")
        elif isinstance(v, Trickle):
            c.sendall(b"$%d\r\n" % len(v.data))
            for i in range(len(v.data)):
                if self.stop.is_set():
                    return False
                c.sendall(v.data[i:i + 1])
                time.sleep(v.delay)
            c.sendall(b"\r\n")
        elif isinstance(v, HugeBulk):
            c.sendall(b"$%d\r\n" % v.declared)
            chunk = b"\0" * (1 << 16)
            while not self.stop.is_set():
                c.sendall(chunk)  # until the client hangs up (OSError ends the thread)
            return False
        else:
            c.sendall(_resp_bulk(v))
        return True

    def close(self):
        self.stop.set()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self.sock.close()


@contextlib.contextmanager
def fake_redis(data, scan="normal"):
    """Yields a FakeRedis (its .port, its .data) until the block ends."""
    server = FakeRedis(data, scan)
    try:
        yield server
    finally:
        server.close()


class SlowProxy(_LoopbackServer):
    """A TCP proxy on 127.0.0.1 in front of `upstream_port` that passes the
    server's bytes at `rate` bytes/s; with `stall_after`, a connection stops
    passing them (without closing) once it has passed that many."""

    def __init__(self, upstream_port, rate=None, stall_after=None):
        self.upstream, self.rate, self.stall_after = upstream_port, rate, stall_after
        self.socks = []
        self._start()

    def _accept(self, down):
        up = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        up.settimeout(None)
        self.socks += [down, up]
        threading.Thread(target=self._pump, args=(down, up, False), daemon=True).start()
        threading.Thread(target=self._pump, args=(up, down, True), daemon=True).start()

    def _pump(self, src, dst, slow):
        passed = 0
        with contextlib.suppress(OSError):
            while not self.stop.is_set():
                data = src.recv(8192 if slow and self.rate else 65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                if slow and self.stall_after is not None and passed + len(data) > self.stall_after:
                    self.stop.wait()  # holds the connection open, passes nothing more
                    return
                passed += len(data)
                throttled = slow and self.rate
                step = max(1, int(self.rate * 0.05)) if throttled else len(data)
                for i in range(0, len(data), step):  # a slice every 50 ms at most, 1 byte at 2 B/s
                    if self.stop.is_set():
                        return
                    dst.sendall(data[i:i + step])
                    if throttled:
                        time.sleep(len(data[i:i + step]) / self.rate)

    def close(self):
        self.stop.set()
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.close()
        self.sock.close()


@contextlib.contextmanager
def slow_proxy(upstream_port, rate=None, stall_after=None):
    proxy = SlowProxy(upstream_port, rate, stall_after)
    try:
        yield proxy
    finally:
        proxy.close()

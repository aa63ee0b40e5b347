"""Shared helpers for the pytest suites."""
import os
import pathlib
import subprocess


class Mithril:
    """Runs `mithril --root ROOT ...` with a clean MITHRIL_* environment."""

    def __init__(self, binary, root):
        self.binary = binary
        self.root = pathlib.Path(root)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MITHRIL_")}

    def run(self, *args, check=True, input=None, timeout=120, root=True):
        cmd = [self.binary] + (["--root", str(self.root)] if root else []) + [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, input=input, timeout=timeout, env=self.env)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} exited {p.returncode}: {p.stderr.decode(errors='replace')}")
        return p

    def stats(self):
        import json
        return json.loads(self.run("stats", "--json").stdout)

    def object_path(self, digest):
        return self.root / "objects" / digest[:2] / digest[2:4] / digest


def inductor_dir(m):
    """The TORCHINDUCTOR_CACHE_DIR `mithril env` points into m's root."""
    out = m.run("env").stdout.decode()
    return [l for l in out.splitlines() if "TORCHINDUCTOR_CACHE_DIR" in l][0].split("=", 1)[1].strip("'")


def write_files(d, files):
    """Writes {relative path: bytes} under directory d; returns d."""
    for rel, data in files.items():
        p = os.path.join(d, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as fh:
            fh.write(data)
    return d

"""Fixtures for system tests that drive the real `mithril` binary."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mithril_bin():
    path = os.environ.get("MITHRIL_BIN", str(REPO / "build" / "cli" / "mithril"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"mithril binary not found at {path}: run `make build` or set MITHRIL_BIN")
    return path


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


@pytest.fixture
def mithril(mithril_bin, tmp_path):
    return Mithril(mithril_bin, tmp_path / "root")

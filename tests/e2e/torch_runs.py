"""Helpers for end-to-end runs of the demo model under `mithril run`."""
import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
DEMO = REPO / "python" / "mithril_cache" / "demo_model.py"  # run as a script: no package import


class TorchRun:
    def __init__(self, rc, result, stderr):
        self.rc = rc
        self.result = result or {}
        self.stderr = stderr

    def counter(self, name):
        return self.result.get("counters", {}).get(name, 0)


def run_model(m, tmp_path, models="mlp,tfm", extra_env=None, root=None, timeout=300, remote=None, explain=False):
    """Runs the demo model under `mithril run` in a fresh process."""
    out = tmp_path / f"result-{os.urandom(4).hex()}.json"
    env = dict(m.env)
    env["MITHRIL_DEMO_OUT"] = str(out)
    env.pop("TORCHINDUCTOR_CACHE_DIR", None)
    env.pop("TRITON_CACHE_DIR", None)
    env.update(extra_env or {})
    cmd = [m.binary, "--root", str(root or m.root), "run"] + (["--remote", remote] if remote else [])
    cmd += ["--explain"] if explain else []
    cmd += ["--", sys.executable, str(DEMO), "--models", models]
    p = subprocess.run(cmd, env=env, capture_output=True, timeout=timeout)
    result = json.loads(out.read_text()) if out.exists() else None
    return TorchRun(p.returncode, result, p.stderr.decode(errors="replace"))


def partition_dir(root):
    parts = list((pathlib.Path(root) / "fw").iterdir())
    assert len(parts) == 1, parts
    return parts[0]


def so_files(root):
    return sorted(str(p.relative_to(root)) for p in pathlib.Path(root).rglob("*.so"))



"""The install script as a new user on stock Debian meets it: Debian's own
/usr/bin/python3 (externally managed, PEP 668), a venv of its own made by
`scripts/install_deps.sh demo`, torch 2.13 CPU in it, then the demo's table
from that venv. Also: a second run of the script installs nothing.

    python tests/install/check_install.py --mithril build/cli/mithril

Prints "install-check: N passed, N failed" last; exits 1 on any failure.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEBIAN_PYTHON = pathlib.Path("/usr/bin/python3")
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)
    return ok


def install(venv, timeout=1800):
    env = dict(os.environ, PYTHON=str(DEBIAN_PYTHON), VENV=str(venv))
    p = subprocess.run([str(ROOT / "scripts" / "install_deps.sh"), "demo"], env=env, capture_output=True, text=True,
                       timeout=timeout)
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if "is ignored: it is neither" not in ln]
    print("\n".join("  | " + ln for ln in lines), flush=True)
    return p.returncode, p.stdout


def pep668_in_force():
    """True when Debian's python refuses `pip install` outside a venv."""
    marker = next(DEBIAN_PYTHON.parent.parent.glob("lib/python3*/EXTERNALLY-MANAGED"), None)
    if marker is None:
        return None
    p = subprocess.run([str(DEBIAN_PYTHON), "-m", "pip", "install", "--dry-run", "six"], capture_output=True, text=True)
    return p.returncode != 0 and "externally-managed-environment" in p.stderr


def demo(mithril, venv):
    root = tempfile.mkdtemp(prefix="mithril-install-demo-")
    try:
        p = subprocess.run([mithril, "--root", root, "demo", "--python", str(venv / "bin" / "python")],
                           capture_output=True, text=True, timeout=900)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("\n".join("  | " + ln for ln in p.stdout.splitlines()), flush=True)
    rows = {m[1]: m[2].split("|") for m in re.finditer(r"^\|\s*(cold|warm)\s*\|(.*)\|\s*$", p.stdout, re.M)}
    return p, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mithril", required=True)
    ap.add_argument("--venv", default=str(ROOT / "build" / "venv-debian-python"))
    args = ap.parse_args()
    if not DEBIAN_PYTHON.exists():
        print(f"install-check: no {DEBIAN_PYTHON} on this machine, nothing to check")
        print("install-check: 0 passed, 0 failed")
        return 0
    venv = pathlib.Path(args.venv)
    shutil.rmtree(venv, ignore_errors=True)  # from nothing, every time
    pep668 = pep668_in_force()
    if pep668 is not None:
        check("Debian's python refuses pip outside a venv (PEP 668)", pep668)
    rc, _ = install(venv)
    check("install_deps.sh demo with PYTHON=/usr/bin/python3", rc == 0, f"exit {rc}")
    cfg = (venv / "pyvenv.cfg").read_text() if (venv / "pyvenv.cfg").exists() else ""
    check("the venv is made from Debian's python", "home = /usr/bin" in cfg, cfg)
    probe = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import torch; print(torch.__version__, torch.version.cuda)"],
                           capture_output=True, text=True)
    check("torch 2.13.0 CPU build in the venv", probe.stdout.split() == ["2.13.0+cpu", "None"], probe.stdout)
    rc2, out2 = install(venv)
    check("a second run installs nothing", rc2 == 0 and "pip install" not in out2 and "apt-get" not in out2, out2)
    p, rows = demo(args.mithril, venv)
    check("the demo ran from that venv", p.returncode == 0, p.stderr[-2000:])
    warm = [c.strip() for c in rows.get("warm", [])]
    check("the demo's table: warm run hits both graphs", len(warm) == 5 and warm[3] == "2" and warm[4] == "0",
          str(rows))
    failed = RESULTS.count(False)
    print(f"install-check: {len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

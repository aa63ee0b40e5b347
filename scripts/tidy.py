"""clang-tidy over the product's C++ (src, cli, bench, python/bindings), any
finding fails; incremental: a file is checked again only when its inputs
changed since it was last found clean.

    python scripts/tidy.py BUILD_DIR [-j N] [--all]

BUILD_DIR holds compile_commands.json. A file's inputs are: its own text,
every header of the project (one changed header re-checks every file: simple
and never stale), .clang-tidy, its compile command and clang-tidy's version.
Clean files' input digests are kept in BUILD_DIR/tidy-clean.txt.

Also the size limits: .clang-tidy's readability-function-size (60 lines; the
functions allowed over it are LONG_FUNCTIONS below) and no file over 500 lines
(scripts/check_file_length.py, checked every time).
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_file_length  # next to this file

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECKED_DIRS = ("src", "cli", "bench", "python/bindings")
HEADER_DIRS = ("include", "src", "cli", "bench", "python/bindings")
TIDY = os.environ.get("CLANG_TIDY", "clang-tidy-19")
# Functions allowed over readability-function-size's 60 lines, by file and
# name, with why. Declarative tables may stay; split anything else instead.
LONG_FUNCTIONS = {
    ("src/config/config.cc", "key_table"): "a declarative table: one row per configuration key",
}
LONG_FUNCTION = re.compile(r"^(?P<path>[^:]+):\d+:\d+: (?:warning|error): function '(?P<name>[^']+)' exceeds "
                           r"recommended size/complexity thresholds \[readability-function-size")


def digest(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()


def headers_digest():
    files = sorted(f for d in HEADER_DIRS for f in (ROOT / d).rglob("*") if f.suffix in (".h", ".hpp", ".in"))
    return digest(*(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() for f in files))


def product_files(build):
    db = json.loads((build / "compile_commands.json").read_text())
    out = {}
    for e in db:
        f = pathlib.Path(e["file"]).resolve()
        try:
            rel = f.relative_to(ROOT)
        except ValueError:
            continue  # generated or third-party
        if str(rel).startswith(CHECKED_DIRS) and f.suffix in (".cc", ".cpp"):
            out[str(rel)] = e.get("command") or " ".join(e.get("arguments", []))
    return out


def check(build, rel):
    p = subprocess.run([TIDY, "-p", str(build), "--quiet", "--warnings-as-errors=*", str(ROOT / rel)],
                       capture_output=True, text=True, errors="replace")
    findings = [ln for ln in (p.stdout + p.stderr).splitlines() if "warning:" in ln or "error:" in ln]
    allowed = [ln for ln in findings if allowed_long_function(ln)]
    findings = [ln for ln in findings if ln not in allowed]
    return rel, (p.returncode == 0 or bool(allowed)) and not findings, p.stdout + p.stderr


def allowed_long_function(finding):
    """Whether `finding` is readability-function-size's on a function LONG_FUNCTIONS names."""
    m = LONG_FUNCTION.match(finding)
    if not m:
        return False
    path = pathlib.Path(m["path"]).resolve()
    rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
    return (rel, m["name"]) in LONG_FUNCTIONS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--all", action="store_true", help="ignore what was found clean before")
    args = ap.parse_args()
    build = pathlib.Path(args.build).resolve()
    version = subprocess.run([TIDY, "--version"], capture_output=True, text=True).stdout
    common = digest(headers_digest(), (ROOT / ".clang-tidy").read_bytes(), version)
    files = product_files(build)
    keys = {rel: digest(common, cmd, (ROOT / rel).read_bytes()) for rel, cmd in files.items()}
    cache_path = build / "tidy-clean.txt"
    clean = set() if args.all or not cache_path.exists() else set(cache_path.read_text().split())
    todo = sorted(rel for rel, k in keys.items() if k not in clean)
    print(f"clang-tidy: {len(files)} files, {len(files) - len(todo)} unchanged since clean, checking {len(todo)}",
          flush=True)
    bad = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        for rel, ok, output in pool.map(lambda r: check(build, r), todo):
            if ok:
                clean.add(keys[rel])
            else:
                bad.append(rel)
                print(f"--- {rel}\n{output.strip()}\n", flush=True)
    live = set(keys.values())
    cache_path.write_text("\n".join(sorted(clean & live)) + "\n")
    checked = len(files) - len(bad)  # clang-tidy's verdicts; then the file lengths
    for rel, n in check_file_length.violations():
        print(f"--- {rel}: {n} lines, over {check_file_length.LIMIT} (scripts/check_file_length.py)", flush=True)
        bad.append(rel)
    print(f"tidy: {checked} passed, {len(bad)} failed")
    if bad:
        print("clang-tidy: findings above in " + ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

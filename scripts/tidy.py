"""clang-tidy over the product's C++ (src, cli, bench, python/bindings), any
finding fails; incremental: a file is checked again only when its inputs
changed since it was last found clean.

    python scripts/tidy.py BUILD_DIR [-j N] [--all]

BUILD_DIR holds compile_commands.json. A file's inputs are: its own text,
every header of the project (one changed header re-checks every file: simple
and never stale), .clang-tidy, its compile command and clang-tidy's version.
Clean files' input digests are kept in BUILD_DIR/tidy-clean.txt.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECKED_DIRS = ("src", "cli", "bench", "python/bindings")
HEADER_DIRS = ("include", "src", "cli", "bench", "python/bindings")
TIDY = os.environ.get("CLANG_TIDY", "clang-tidy-19")


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
    return rel, p.returncode == 0 and not findings, p.stdout + p.stderr


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
    print(f"tidy: {len(files) - len(bad)} passed, {len(bad)} failed")
    if bad:
        print("clang-tidy: findings above in " + ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

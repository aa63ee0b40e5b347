"""`make python-lint`: the Python package's static checks, each one a test.

    python tests/python_lint.py

ruff (lint and format) and mypy --strict over python/mithril_cache/, the
_core.pyi stub included; their settings live in pyproject.toml ([tool.ruff],
[tool.mypy]). The tools come from the `lint` extra, which
`scripts/install_deps.sh test` installs into the project venv. Every check
runs even after a failure; prints "python-lint: N passed, N failed" last and
exits 1 on any failure.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = "python/mithril_cache"

CHECKS = [
    ("ruff check", ["-m", "ruff", "check", "--no-fix", PACKAGE]),
    ("ruff format --check", ["-m", "ruff", "format", "--check", PACKAGE]),
    # The files and options come from [tool.mypy]; --strict is there too.
    ("mypy --strict", ["-m", "mypy", "--strict"]),
]


def main() -> int:
    failed = 0
    for name, args in CHECKS:
        p = subprocess.run(
            [sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        ok = p.returncode == 0
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}", flush=True)
        if not ok or "-v" in sys.argv:
            print("\n".join("  | " + line for line in p.stdout.splitlines()), flush=True)
    print(f"python-lint: {len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

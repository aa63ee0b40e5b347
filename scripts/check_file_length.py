"""No C++ file of the product over 500 lines (issue 12): the .cc and .h files
under src/, cli/, python/bindings/ and include/. Run by scripts/tidy.py (the
tidy suite); alone:

    python scripts/check_file_length.py

Prints every file over the limit that is not on ALLOWED and exits 1 if any.
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DIRS = ("src", "cli", "python/bindings", "include")
LIMIT = 500
# Files allowed over the limit, with why. Declarative tables would go here;
# split anything else instead.
ALLOWED = {
}


def lengths():
    """{path relative to the root: lines} of every checked file."""
    files = sorted(f for d in DIRS for f in (ROOT / d).rglob("*") if f.suffix in (".cc", ".h") and f.is_file())
    return {str(f.relative_to(ROOT)): len(f.read_text(errors="replace").splitlines()) for f in files}


def violations():
    """[(path, lines)] of the files over LIMIT that ALLOWED does not name."""
    return [(rel, n) for rel, n in lengths().items() if n > LIMIT and rel not in ALLOWED]


def main():
    bad = violations()
    for rel, n in bad:
        print(f"{rel}: {n} lines, over the limit of {LIMIT} (split it; scripts/check_file_length.py)")
    print(f"file length: {len(lengths())} files, {len(bad)} over {LIMIT} lines")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

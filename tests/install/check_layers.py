"""The dependency rules bite: every layer of src/ is compiled on an include
view (cmake/MithrilLayers.cmake), and this proves the views are exactly what
the rules allow, and that ARCHITECTURE.md shows the same rules.

For each layer, with the compile command of one of its sources from the build's
compile_commands.json, the preprocessor runs on one-line files:
  - every public header the layer may see, and one file of every folder it may
    see, all in one file, must be found;
  - every other public header and folder, one file each, must not be found.

    python tests/install/check_layers.py --build build

Also run by tests/install/check_library.py (the install-lib suite of `make test`).
"""
import argparse
import concurrent.futures
import json
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLUMNS = ("layer", "folder", "sees", "owns", "also")


def parse_row(line):
    """The cells of one table row ("a | b c | - | ..."): a dict of COLUMNS, lists but layer and folder."""
    cells = [c.strip().replace("`", "").replace(",", " ") for c in line.strip().strip("|").split("|")]
    if len(cells) != len(COLUMNS):
        return None
    row = {k: ([] if v == "-" else v.split()) for k, v in zip(COLUMNS, cells)}
    row["layer"], row["folder"] = row["layer"][0], row["folder"][0]
    return row


def cmake_table():
    text = (ROOT / "cmake" / "MithrilLayers.cmake").read_text()
    body = re.search(r"set\(MITHRIL_LAYER_TABLE\n(.*?)\n\)", text, re.S)[1]
    return [parse_row(m) for m in re.findall(r'^\s*"([^"]*)"', body, re.M)]


def architecture_table():
    """The rows of ARCHITECTURE.md's table of the rules (the one whose header starts "| layer | folder |")."""
    lines = (ROOT / "ARCHITECTURE.md").read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if re.match(r"\|\s*layer\s*\|\s*folder\s*\|", ln))
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        rows.append(parse_row(ln))
    return rows


def closure(table, layer):
    by_name = {r["layer"]: r for r in table}
    seen, todo = [layer], [layer]
    while todo:
        for dep in by_name[todo.pop()]["sees"]:
            if dep not in seen:
                seen.append(dep)
                todo.append(dep)
    return [by_name[n] for n in seen]


def folder_probe(folder):
    """One file of src/<folder> to #include: a header if it has one."""
    files = sorted(p.name for p in (ROOT / "src" / folder).iterdir() if p.suffix in (".h", ".cc"))
    headers = [f for f in files if f.endswith(".h")]
    return f"{folder}/{(headers or files)[0]}"


def layer_command(db, row):
    """The compile command (an argument list, no -c/-o/source) of one source of `row`'s layer."""
    view = f"/layer_views/{row['layer']}"
    for e in db:
        args = shlex.split(e["command"]) if "command" in e else list(e["arguments"])
        if f"/src/{row['folder']}/" in e["file"] and any(a.endswith(view) for a in args):
            out, skip = [], False
            for a in args:
                if skip:
                    skip = False
                elif a in ("-o", "-c"):
                    skip = True
                else:
                    out.append(a)
            return out, e["directory"]
    return None, None


def preprocess(cmd, cwd, tmp, name, includes, present=()):
    """Runs the preprocessor on a file of `includes`, which also fails unless
    every file of `present` can be found (by __has_include: a source file there
    is not itself preprocessed)."""
    src = pathlib.Path(tmp) / f"{name}.cc"
    text = "".join(f"#include {i}\n" for i in includes)
    text += "".join(f"#if !__has_include({p})\n#error {p} not found\n#endif\n" for p in present)
    src.write_text(text)
    p = subprocess.run([*cmd, "-E", "-o", "/dev/null", str(src)], cwd=cwd, capture_output=True, text=True)
    return p.returncode == 0, p.stderr


def layer_checks(table, db, tmp):
    """(name, ok, detail) jobs: callables, one per preprocessor run."""
    public = [*sorted(p.name for p in (ROOT / "include" / "mithril").glob("*.h")), "version.h"]
    folders = sorted({r["folder"] for r in table})
    jobs = []
    for row in table:
        cmd, cwd = layer_command(db, row)
        if cmd is None:
            jobs.append(lambda row=row: (f"layer {row['layer']} has a compile command", False, "none found"))
            continue
        seen = closure(table, row["layer"])
        ok_headers = sorted({h for r in seen for h in r["owns"]} | set(row["also"]))
        ok_folders = sorted({r["folder"] for r in seen})
        allowed = [f"<mithril/{h}>" for h in ok_headers]
        present = [f'"{folder_probe(f)}"' for f in ok_folders]
        forbidden = [f"<mithril/{h}>" for h in public if h not in ok_headers]
        forbidden += [f'"{folder_probe(f)}"' for f in folders if f not in ok_folders]
        name = row["layer"]
        jobs.append(lambda n=name, c=cmd, d=cwd, a=allowed, p=present: (
            f"layer {n} sees what the rules allow ({len(a)} headers, {len(p)} folders)",
            *preprocess(c, d, tmp, f"{n}_allowed", a, p)))
        for i, inc in enumerate(forbidden):
            def job(n=name, c=cmd, d=cwd, inc=inc, i=i):
                ok, err = preprocess(c, d, tmp, f"{n}_forbidden_{i}", [inc])
                return f"layer {n} cannot include {inc}", not ok and "No such file" in err, err or "it compiled"
            jobs.append(job)
    return jobs


def run_checks(build, check):
    """Every check, reported through check(name, ok, detail)."""
    table = cmake_table()
    check("cmake/MithrilLayers.cmake has a table of the layers", table and all(table), str(table))
    doc = architecture_table()
    check("ARCHITECTURE.md shows the rules of cmake/MithrilLayers.cmake", doc == table,
          f"\n  ARCHITECTURE.md: {doc}\n  cmake:           {table}")
    db = json.loads((pathlib.Path(build) / "compile_commands.json").read_text())
    with (
        tempfile.TemporaryDirectory(prefix="mithril-layers-") as tmp,
        concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool,
    ):
        results = list(pool.map(lambda job: job(), layer_checks(table, db, tmp)))
    forbidden = [r for r in results if "cannot include" in r[0]]
    for name, ok, detail in results:
        if "cannot include" not in name or not ok:
            check(name, ok, detail)
    check(f"every layer is refused what the rules forbid ({len(forbidden)} includes)",
          all(ok for _, ok, _ in forbidden))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="a configured build directory")
    args = ap.parse_args()
    results = []

    def check(name, ok, detail=""):
        results.append(bool(ok))
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)

    run_checks(args.build, check)
    print(f"check_layers: {sum(results)} passed, {len(results) - sum(results)} failed", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

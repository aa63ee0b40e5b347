"""Runs every libFuzzer target for a bounded time on a copy of its seed
corpus (the repository's corpus is never modified) and prints one table:
executions, corpus size, crashes. Exits 1 when any target crashed; the
crashing input is kept under the work directory and named in the output.

    python3 tests/fuzz/run_fuzzers.py BUILD_DIR [--seconds 20] [--seed N]

Every run uses a new seed unless --seed is given, so CI keeps exploring;
the seed is printed, and --seed N replays the same mutations (a crash also
leaves its input, which reproduces alone: BUILD_DIR/tests/fuzz/TARGET INPUT).
A crash, once fixed, becomes a regression seed: tests/fuzz/corpus/TARGET/regress-*.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
TARGETS = ["fuzz_cache_key", "fuzz_entry_manifest", "fuzz_remote_manifest", "fuzz_text_inputs", "fuzz_config",
           "fuzz_bundle", "fuzz_index"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little") % 2**31 or 1)
    args = ap.parse_args()
    print(f"fuzzing with seed {args.seed} (replay: --seed {args.seed})", flush=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="mithril-fuzz-"))
    rows, failed = [], []
    for t in TARGETS:
        corpus = work / t
        shutil.copytree(HERE / "corpus" / t, corpus)
        seeds = len(list(corpus.iterdir()))
        exe = pathlib.Path(args.build) / "tests" / "fuzz" / t
        p = subprocess.run([str(exe), f"-max_total_time={args.seconds}", "-timeout=10", "-rss_limit_mb=2048", f"-seed={args.seed}",
                            f"-artifact_prefix={work}/{t}-", str(corpus)],
                           capture_output=True, text=True, timeout=args.seconds + 120)
        log = p.stderr
        execs = re.findall(r"stat::number_of_executed_units: (\d+)", log) or re.findall(r"#(\d+)\s+DONE", log)
        n_execs = int(execs[-1]) if execs else 0
        size = len(list(corpus.iterdir()))
        rows.append((t, seeds, n_execs, size, "0" if p.returncode == 0 else "1"))
        if p.returncode != 0:
            failed.append(t)
            print(f"--- {t} failed (exit {p.returncode}):\n{log[-3000:]}", file=sys.stderr)
    print("| fuzz target | seeds | executions | corpus after | crashes |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    print(f"| total ({args.seconds} s each) | {sum(r[1] for r in rows)} | {sum(r[2] for r in rows)} | "
          f"{sum(r[3] for r in rows)} | {len(failed)} |")
    print(f"fuzz: {len(rows) - len(failed)} passed, {len(failed)} failed")
    report_dir = os.environ.get("MITHRIL_REPORT_DIR")
    if report_dir:
        pathlib.Path(report_dir).mkdir(parents=True, exist_ok=True)
        (pathlib.Path(report_dir) / "fuzz.json").write_text(json.dumps(
            {"seconds": args.seconds, "targets": [dict(zip(["target", "seeds", "executions", "corpus", "crashes"], r))
                                                  for r in rows]}))
    if failed:
        print(f"crashing inputs kept in {work}", file=sys.stderr)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make test`: runs every suite, each even when an earlier one failed, and
ends with one summary (suite, passed, failed, seconds) and a non-zero exit
when any suite failed. Each suite is a Makefile target; its output streams
to the terminal and to build/test-logs/<target>.log.

    python tests/run_suites.py [--only TARGET ...] [--timeout SECONDS]

Counts come from each runner's own closing line (pytest, ctest, GoogleTest,
or a plain "N passed, N failed" line printed by our scripts). A suite that
exits non-zero without a failed count (a build error, a crash) counts as
one failure.
"""
import argparse
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

# (name shown, Makefile target). Static analysis first, then the unit and
# system suites from the cheapest build to the slowest (the installed C++
# library right after the Release build it installs), the Python and
# torch suites, fuzzing, and the install check on Debian's own Python.
SUITES = [
    ("clang-tidy", "tidy"),
    ("python lint", "python-lint"),
    ("unit, Release", "unit-test"),
    ("system, Release", "system-test"),
    ("installed library", "install-lib-test"),
    ("unit, ASan+UBSan", "asan-test"),
    ("system, ASan+UBSan", "asan-system-test"),
    ("unit, TSan", "tsan-test"),
    ("stress, TSan", "stress-test"),
    ("python package", "python-test"),
    ("e2e torch.compile", "e2e-test"),
    ("fuzz, libFuzzer", "fuzz-test"),
    ("install, Debian's python", "install-check"),
]

PATTERNS = [
    # ctest: "100% tests passed out of 94" / "97% tests passed, 3 tests failed out of 94"
    (re.compile(r"\d+% tests passed(?:, (\d+) tests? failed)? out of (\d+)"),
     lambda m: (int(m[2]) - int(m[1] or 0), int(m[1] or 0))),
    # GoogleTest: "[  PASSED  ] 94 tests." / "[  FAILED  ] 2 tests, listed below:"
    (re.compile(r"\[  PASSED  \] (\d+) tests?\."), lambda m: (int(m[1]), None)),
    (re.compile(r"\[  FAILED  \] (\d+) tests?, listed below"), lambda m: (None, int(m[1]))),
]
PYTEST_LINE = re.compile(r"^=*\s*(?:\d+ \w+(?:, )?)+ in [\d.]+s")
PLAIN_LINE = re.compile(r"^(?:[\w-]+: )?(\d+) passed, (\d+) failed")


def count(lines):
    """(passed, failed) from a suite's output, or (None, None)."""
    passed = failed = None
    for line in lines:
        line = line.strip()
        if m := PLAIN_LINE.match(line):
            passed, failed = int(m[1]), int(m[2])
            continue
        if PYTEST_LINE.match(line) and (" passed" in line or " failed" in line or " error" in line):
            p = re.search(r"(\d+) passed", line)
            f = sum(int(x) for x in re.findall(r"(\d+) (?:failed|errors?)\b", line))
            passed, failed = (passed or 0) + (int(p[1]) if p else 0), (failed or 0) + f
            continue
        for pattern, take in PATTERNS:
            if m := pattern.search(line):
                p, f = take(m)
                passed = p if p is not None else passed
                failed = f if f is not None else failed
    return passed, failed


def run_suite(target, log_path, timeout):
    """Runs `make TARGET`, streaming its output; returns (rc, lines)."""
    cmd = ["make", "--no-print-directory", "SKIP_DEPS=1", target]
    lines = []
    with open(log_path, "w") as log:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             errors="replace", start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            for line in p.stdout:
                sys.stdout.write(line)
                sys.stdout.flush()
                log.write(line)
                lines.append(line)
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(cmd, timeout)
            rc = p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            msg = f"run_suites: {target} killed after {timeout} s\n"
            sys.stdout.write(msg)
            log.write(msg)
            rc = 124
    return rc, lines


def table(rows):
    head = ("suite", "target", "result", "passed", "failed", "seconds")
    cells = [head] + [(r["name"], r["target"], r["result"], str(r["passed"]), str(r["failed"]), f"{r['seconds']:.0f}")
                      for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    out = []
    for i, c in enumerate(cells):
        out.append("| " + " | ".join(v.ljust(w) if j < 3 else v.rjust(w) for j, (v, w) in enumerate(zip(c, widths)))
                   + " |")
        if i == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="run only these Makefile targets")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("MITHRIL_SUITE_TIMEOUT_S", "1800")),
                    help="kill a suite after this many seconds (default 1800)")
    args = ap.parse_args()
    suites = [s for s in SUITES if not args.only or s[1] in args.only]
    logs = ROOT / "build" / "test-logs"
    logs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["make", "--no-print-directory", "report-reset"], cwd=ROOT, check=False)
    rows, t_all = [], time.monotonic()
    for name, target in suites:
        print(f"\n==> {name} (make {target})", flush=True)
        t0 = time.monotonic()
        rc, lines = run_suite(target, logs / f"{target}.log", args.timeout)
        passed, failed = count(lines)
        passed, failed = passed or 0, failed or 0
        if rc != 0 and failed == 0:
            failed = 1  # a build error, a crash or a timeout
        rows.append({"name": name, "target": target, "result": "ok" if rc == 0 else f"FAILED (exit {rc})",
                     "passed": passed, "failed": failed, "seconds": time.monotonic() - t0})
    subprocess.run(["make", "--no-print-directory", "SKIP_DEPS=1", "hardening-report"], cwd=ROOT, check=False)
    total_p, total_f = sum(r["passed"] for r in rows), sum(r["failed"] for r in rows)
    bad = [r["target"] for r in rows if r["result"] != "ok"]
    print(f"\nmake test: {len(rows)} suites in {time.monotonic() - t_all:.0f} s; logs in {logs}\n")
    print(table(rows))
    if bad:
        print(f"\nfailed suites: {', '.join(bad)} (logs: {logs}/<target>.log)")
    print(f"\n{total_p} passed, {total_f} failed", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

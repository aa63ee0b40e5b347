"""End-to-end benchmark: torch.compile start-up with torch's own cache vs
under `mithril run`, measured side by side in one run (fresh processes).

    python3 bench/e2e_bench.py [--mithril build/cli/mithril] [--repeats 3]

Prints process wall times (median of repeats for warm runs) and the ratio
mithril-warm / torch-warm (target <= 1.05).
"""
import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
DEMO = REPO / "python" / "mithril_cache" / "demo_model.py"


def timed(cmd, env):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {cmd}\n{p.stderr.decode()[-2000:]}")
    return wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mithril", default=str(REPO / "build" / "cli" / "mithril"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="mithril-e2e-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MITHRIL_", "TORCHINDUCTOR_", "TRITON_"))}
    model = [sys.executable, str(DEMO)]
    try:
        torch_env = {**env, "TORCHINDUCTOR_CACHE_DIR": str(work / "torch")}
        torch_cold = timed(model, torch_env)
        torch_warm = [timed(model, torch_env) for _ in range(args.repeats)]
        run = [args.mithril, "--root", str(work / "root"), "run", "-q", "--"] + model
        m_cold = timed(run, env)
        m_warm = [timed(run, env) for _ in range(args.repeats)]
        # Interleave a second round of torch-warm / mithril-warm to cancel drift.
        for _ in range(args.repeats):
            torch_warm.append(timed(model, torch_env))
            m_warm.append(timed(run, env))
        tw, mw = statistics.median(torch_warm), statistics.median(m_warm)
        print("| run | process wall s | vs torch warm |")
        print("|---|---|---|")
        print(f"| torch cold (own cache, empty) | {torch_cold:.2f} | {torch_cold / tw:.2f}x |")
        print(f"| torch warm (own cache), median of {len(torch_warm)} | {tw:.2f} | 1.00x |")
        print(f"| mithril run cold (empty root) | {m_cold:.2f} | {m_cold / tw:.2f}x |")
        print(f"| mithril run warm, median of {len(m_warm)} | {mw:.2f} | {mw / tw:.3f}x (target <= 1.05x) |")
        print(f"\nwarm overhead of mithril run: {mw - tw:+.3f} s per process start")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Prints the hardening summary of a `make test` run (issue 5): what the
crash, fault, power-loss, concurrency, fuzzing, hostile-input and
hostile-remote suites did,
read from the JSON files they leave in MITHRIL_REPORT_DIR. Every figure is
what the suites measured in this run; a suite that did not run shows as
"not run".

    python3 tests/hardening_report.py REPORT_DIR
"""
import json
import pathlib
import sys


def load(d, name):
    p = d / name
    return json.loads(p.read_text()) if p.exists() else None


def main():
    d = pathlib.Path(sys.argv[1])
    rows = []
    crash = load(d, "crash.json")
    rows.append(("SIGKILLs landed mid-run (put, gc, verify --repair, unpack, pull)",
                 f"{crash['landed']} of {crash['runs']} runs, {crash['checks']} invariant checks, "
                 f"{crash['fw_files']} framework files checked" if crash else "not run",
                 "0" if crash else "-"))
    faults = [json.loads(p.read_text()) for p in sorted(d.glob("faults-*.json"))]
    if faults:
        total = sum(f["injected"] for f in faults)
        per = ", ".join(f"{f['op']} {f['injected']}" for f in faults)
        kinds = {}
        for f in faults:
            for k, n in f.get("by_errno", {}).items():
                kinds[k] = kinds.get(k, 0) + n
        by = ", ".join(f"{k} {n}" for k, n in kinds.items())
        sites = sum(f["call_sites"] for f in faults)
        in_db = sum(f.get("sqlite_call_sites", 0) for f in faults)
        rows.append(("OS-call faults injected at every call site", f"{total} at {sites} call sites, {in_db} of them "
                     f"SQLite's I/O ({per}; by kind: {by})", "0"))
    else:
        rows.append(("OS-call faults injected at every call site", "not run", "-"))
    power = load(d, "powerloss.json")
    rows.append(("power cuts simulated after a put (fsync mode)",
                 str(power["power_cuts"]) if power else "not run", str(power["objects_lost"]) if power else "-"))
    stress = load(d, "stress.json")
    if stress:
        ops = sum(stress[k] for k in ("puts", "gets", "gcs", "verifies", "stats"))
        rows.append((f"concurrent operations ({stress['processes']} processes x {stress['threads']} threads, "
                     f"{stress['seconds']:.0f} s)", f"{ops} ({stress['errors']} errors)", str(stress["bad_reads"])))
    else:
        rows.append(("concurrent operations", "not run", "-"))
    fuzz = load(d, "fuzz.json")
    if fuzz:
        execs = sum(t["executions"] for t in fuzz["targets"])
        corpus = sum(t["corpus"] for t in fuzz["targets"])
        crashes = sum(int(t["crashes"]) for t in fuzz["targets"])
        rows.append((f"fuzz executions ({len(fuzz['targets'])} targets x {fuzz['seconds']} s)",
                     f"{execs} (corpus {corpus}, {crashes} crashes)", str(crashes)))
    else:
        rows.append(("fuzz executions", "not run", "-"))
    hostile_file = d / "hostile.jsonl"
    hostile = [json.loads(l) for l in hostile_file.read_text().splitlines()] if hostile_file.exists() else []
    rows.append(("hostile-input cases (bundles, manifests, remote bytes, damaged files, bad input)",
                 f"{sum(h['passed'] for h in hostile)} of {len(hostile)} refused or repaired as specified",
                 str(sum(not h["passed"] for h in hostile))))
    remote = load(d, "hostile_remote.json") or {}
    if "peak_rss_bytes" in remote:
        mib = 1 << 20
        rows.append(("peak RSS of `mithril run --remote` against a lying remote (target < 2x the largest "
                     "legitimate file)", f"{remote['peak_rss_bytes'] / mib:.1f} MiB with a "
                     f"{remote['largest_file_bytes'] / mib:.0f} MiB file (baseline run "
                     f"{remote['baseline_rss_bytes'] / mib:.1f} MiB): " +
                     ("target met" if remote["peak_rss_bytes"] < 2 * remote["largest_file_bytes"] else "TARGET MISSED"),
                     "0"))
    else:
        rows.append(("peak RSS of `mithril run --remote` against a lying remote", "not run", "-"))
    if remote.get("hung_start_s"):
        starts = remote["hung_start_s"]
        rows.append((f"start of the job against a hung remote (target <= remote_deadline_s + 2 s, "
                     f"deadline {remote['deadline_s']} s)", f"at most {max(starts.values()):.2f} s ("
                     + ", ".join(f"{k} {v:.2f} s" for k, v in starts.items()) + "): " +
                     ("target met" if max(starts.values()) <= remote["deadline_s"] + 2 else "TARGET MISSED"), "0"))
    else:
        rows.append(("start of the job against a hung remote", "not run", "-"))
    print("\n## Hardening report (this run)\n")
    print("| what | count | lost or invalid entries served |")
    print("|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()

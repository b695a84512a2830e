#!/usr/bin/env python3
"""Verification benchmark: `grafter verify` against the migration it checks.

On the Placement example at about 1 million source rows (the database bench/embedded_load.py
generates, made once into bench/out/):
  1. `grafter run --no-verify` into a fresh store: the migration, timed as a whole process.
  2. `grafter verify` of that store: the full verification (counts, every property of every
     element, relationships' ends, structure, the example's checks), timed likewise.
     Reported: verify seconds / migration seconds (goal <= 1).
  3. One property of one node is changed in the graph; `grafter verify` must report exactly
     that difference, and its report says how many rows it had to read one by one to find
     it. Reported: rows read individually / rows compared (goal <= 5%).

Usage: bench/verify.py [--rows N] [--repeat K]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

from placement import GRAFTER, build, database as placement_database, fresh_dir


def grafter(cwd, *args, ok_codes=(0,)):
    """Runs grafter; returns (stdout, wall seconds, exit code)."""
    started = time.monotonic()
    result = subprocess.run([GRAFTER, *args], cwd=cwd, capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode not in ok_codes:
        sys.exit(f"grafter {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout, wall, result.returncode


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="source rows to generate (default 1M)")
    parser.add_argument("--repeat", type=int, default=3, help="migration + verification pairs (default 3)")
    args = parser.parse_args()

    build("grafter-cli")
    placement, database = placement_database(args.rows)

    ratios = []
    for attempt in range(1, args.repeat + 1):
        work = fresh_dir(placement, "verify", database)
        out, migration, _ = grafter(work, "run", "-q", "--no-verify", "--no-snapshot", "--format", "json")
        rows = sum(m["read"] for m in json.loads(out)["mappings"])
        out, verification, _ = grafter(work, "verify", "-q", "--format", "json")
        report = json.loads(out)
        assert report["passed"], "a clean migration verifies"
        ratios.append(verification / migration)
        print(
            f"run {attempt}: migration of {rows:,} rows {migration:.2f}s, full verification {verification:.2f}s "
            f"({report['rows_total']:,} rows compared, {report['rows_individual']:,} one by one) "
            f"= {verification / migration:.2f} of the migration",
            flush=True,
        )

    # One changed property among all the rows.
    out, _, _ = grafter(
        work, "query", "--write", "--format", "json",
        "MATCH (i:Inventory) WITH i ORDER BY i.provider_uuid, i.resource_class SKIP 1000 LIMIT 1 "
        "SET i.total = i.total + 1 RETURN i.provider_uuid AS provider, i.resource_class AS class",
    )
    changed = json.loads(out)[0]
    out, seconds, code = grafter(work, "verify", "-q", "--format", "json", ok_codes=(1,))
    report = json.loads(out)
    findings = [f for m in report["mappings"] for f in m["findings"]]
    print(f"changed Inventory {changed['provider']} / {changed['class']}: verify exited {code} in {seconds:.2f}s with {len(findings)} finding(s):")
    for finding in findings:
        print(f"  {json.dumps(finding)}")
    individual = report["rows_individual"] / report["rows_total"]
    print(f"rows read one by one to find it: {report['rows_individual']:,} of {report['rows_total']:,} = {individual:.4%} (goal <= 5%)")
    print(f"full verification / migration (median of {args.repeat}): {statistics.median(ratios):.2f} (goal <= 1)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Embedded-load benchmark: grafter end to end against grafeo's own batch API.

Generates the Placement example at about 1 million source rows (once, into bench/out/),
then, in alternation and REPEAT times each:
  - grafter:  `grafter run` of examples/placement/grafter.toml into a fresh .grafeo file;
              wall time measured around the whole process (open, load, indexes, close;
              `--no-verify`: the verification after a run is measured by bench/verify.py).
  - anchor:   bench/grafeo-anchor loads the very same records, already materialised in
              memory and with endpoints resolved, through grafeo's batch API; only the
              store's work is timed (batches, commits, key indexes, close).
Prints each run, the medians, and grafter's rows/s as a ratio of the anchor's (goal >= 0.8),
with both processes' peak RSS.

Usage: bench/embedded_load.py [--rows N] [--repeat K]
"""
import argparse
import json
import statistics
import subprocess
import sys

from placement import GRAFTER, RELEASE, build, database as placement_database, fresh_dir


def timed(args, cwd):
    """Runs a command under /usr/bin/time; returns (stdout, wall seconds, peak RSS in MiB)."""
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    wall, rss_kb = result.stderr.strip().splitlines()[-1].split()
    return result.stdout, float(wall), int(rss_kb) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="source rows to generate (default 1M)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (default 3)")
    args = parser.parse_args()

    build("grafter-cli", "grafeo-anchor")
    placement, database = placement_database(args.rows)

    grafter_runs, anchor_runs = [], []
    for attempt in range(1, args.repeat + 1):
        work = fresh_dir(placement, "embedded-load", database)
        out, wall, rss = timed([GRAFTER, "run", "-q", "--no-verify", "--format", "json"], work)
        summary = json.loads(out)
        rows = sum(m["read"] for m in summary["mappings"])
        grafter_runs.append({"seconds": wall, "rows": rows, "rss_mib": rss})
        print(f"run {attempt}: grafter {rows} rows in {wall:.2f}s = {rows / wall:,.0f} rows/s, peak RSS {rss:,.0f} MiB", flush=True)

        out, wall, rss = timed([RELEASE / "grafeo-anchor", "grafter.toml", "anchor.grafeo"], work)
        anchor = json.loads(out)
        anchor_runs.append({**anchor, "rss_mib": rss})
        print(
            f"run {attempt}: anchor  {anchor['rows']} rows in {anchor['seconds']:.2f}s timed = {anchor['rows_per_second']:,.0f} rows/s "
            f"(nodes {anchor['nodes_per_second']:,.0f}/s, relationships {anchor['relationships_per_second']:,.0f}/s, "
            f"indexes {anchor['index_seconds']:.2f}s, close {anchor['close_seconds']:.2f}s), peak RSS {rss:,.0f} MiB",
            flush=True,
        )

    grafter_rate = statistics.median(r["rows"] / r["seconds"] for r in grafter_runs)
    anchor_rate = statistics.median(r["rows_per_second"] for r in anchor_runs)
    if grafter_runs[0]["rows"] != anchor_runs[0]["rows"]:
        sys.exit(f"grafter loaded {grafter_runs[0]['rows']} rows but the anchor {anchor_runs[0]['rows']}: not comparable")
    print()
    print(f"rows (graph records)        {anchor_runs[0]['rows']:,}  ({anchor_runs[0]['nodes']:,} nodes, {anchor_runs[0]['relationships']:,} relationships)")
    print(f"grafter end to end, median  {grafter_rate:,.0f} rows/s   peak RSS {statistics.median(r['rss_mib'] for r in grafter_runs):,.0f} MiB")
    print(f"grafeo batch API, median    {anchor_rate:,.0f} rows/s   peak RSS {statistics.median(r['rss_mib'] for r in anchor_runs):,.0f} MiB")
    print(f"ratio grafter / anchor      {grafter_rate / anchor_rate:.2f}   (goal >= 0.80)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Verification benchmark: `grafter verify` against the migration it checks, on every target.

On the Placement example at about 1 million source rows (the database bench/embedded_load.py
generates, made once into bench/out/), for each target (the embedded store, FalkorDB, Neo4j):
  1. `grafter run --no-verify` into an empty graph: the migration, timed as a whole process.
  2. `grafter verify` of that graph: the full verification (counts, every property of every
     element, relationships' ends, structure, the example's checks), timed likewise.
     Reported: verify seconds / migration seconds (goal <= 1), and the verifier's peak RSS.
  3. One property of one node is changed in the graph; `grafter verify` must report exactly
     that difference, and its report says how many rows it had to read one by one to find
     it. Reported: rows read individually / rows compared (goal <= 5%).

The servers are private ones the project's scripts start (FalkorDB on --falkordb-port, Neo4j
5 on --neo4j-port), emptied before every migration, so the tests' servers are left alone.

--grafter PATH runs another build of grafter instead of building this checkout's (to compare
two builds on the same data).

Usage: bench/verify.py [--rows N] [--repeat K] [--targets grafeo,falkordb,neo4j] [--grafter PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from placement import GRAFTER, ROOT, build, database as placement_database, fresh_dir, in_project_python  # noqa: E402

in_project_python("neo4j", __file__)
from neo4j_load import Server as Neo4jServer  # noqa: E402

GRAPH = "grafter_bench_verify"
# The grafter binary the benchmark runs: this checkout's, or --grafter's.
BINARY = [GRAFTER]


def grafter(cwd, *args, ok_codes=(0,)):
    """Runs grafter under /usr/bin/time; returns (stdout, wall seconds, exit code, peak RSS in MiB)."""
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", BINARY[0], *args], cwd=cwd, capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode not in ok_codes:
        sys.exit(f"grafter {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    rss_kb = int(result.stderr.strip().splitlines()[-1])
    return result.stdout, wall, result.returncode, rss_kb / 1024


class Embedded:
    name = "grafeo"

    def url(self):
        return None

    def empty(self, work):
        pass

    def stop(self):
        pass


class Falkor:
    name = "falkordb"

    def __init__(self, port):
        self.port = port
        self.env = dict(os.environ, FALKORDB_PORT=str(port), FALKORDB_BOLT_PORT=str(port + 1000))

    def script(self, command):
        return subprocess.run([ROOT / "scripts" / "falkordb", command], env=self.env, check=True, capture_output=True, text=True)

    def url(self):
        return f"falkordb://127.0.0.1:{self.port}/{GRAPH}"

    def empty(self, work):
        # A restarted server, not a deleted graph: FalkorDB frees a deleted graph in the
        # background, which would slow the next migration by as much as it takes.
        self.script("stop")
        self.script("start")

    def stop(self):
        self.script("stop")

class Neo4j:
    name = "neo4j"

    def __init__(self, port):
        self.server = Neo4jServer("neo4j", port)

    def url(self):
        return self.server.url

    def empty(self, work):
        self.server.fresh()

    def stop(self):
        # Its data directory is gigabytes at 4M rows: gone with the server.
        self.server.script("stop")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="source rows to generate (default 1M)")
    parser.add_argument("--repeat", type=int, default=3, help="migration + verification pairs per target (default 3)")
    parser.add_argument("--targets", default="grafeo,falkordb,neo4j", help="comma-separated: grafeo, falkordb, neo4j")
    parser.add_argument("--falkordb-port", type=int, default=6391)
    parser.add_argument("--neo4j-port", type=int, default=7701)
    parser.add_argument("--grafter", help="a grafter binary to run instead of building this checkout's")
    args = parser.parse_args()

    if args.grafter:
        BINARY[0] = Path(args.grafter).resolve()
    else:
        build("grafter-cli")
    placement, database = placement_database(args.rows)
    makers = {"grafeo": Embedded, "falkordb": lambda: Falkor(args.falkordb_port), "neo4j": lambda: Neo4j(args.neo4j_port)}
    results = {}
    for name in args.targets.split(","):
        target = makers[name]()
        ratios, verify_rss = [], []
        for attempt in range(1, args.repeat + 1):
            work = fresh_dir(placement, f"verify-{name}", database)
            if target.url():
                with open(work / "grafter.toml", "a") as config:
                    config.write(f'\n[target]\nurl = "{target.url()}"\n')
            target.empty(work)
            out, migration, _, _ = grafter(work, "run", "-q", "--no-verify", "--no-snapshot", "--format", "json")
            rows = sum(m["read"] for m in json.loads(out)["mappings"])
            out, verification, _, rss = grafter(work, "verify", "-q", "--format", "json")
            report = json.loads(out)
            assert report["passed"], f"a clean migration verifies ({name})"
            ratios.append(verification / migration)
            verify_rss.append(rss)
            print(
                f"{name} run {attempt}: migration of {rows:,} rows {migration:.2f}s, full verification {verification:.2f}s "
                f"({report['rows_total']:,} rows compared, {report['rows_individual']:,} one by one, "
                f"peak RSS {rss:.0f} MiB) = {verification / migration:.2f} of the migration",
                flush=True,
            )

        # One changed property among all the rows.
        out, _, _, _ = grafter(
            work, "query", "--write", "--format", "json",
            "MATCH (i:Inventory) WITH i ORDER BY i.provider_uuid, i.resource_class SKIP 1000 LIMIT 1 "
            "SET i.total = i.total + 1 RETURN i.provider_uuid AS provider, i.resource_class AS class",
        )
        changed = json.loads(out)[0]
        out, seconds, code, _ = grafter(work, "verify", "-q", "--format", "json", ok_codes=(1,))
        report = json.loads(out)
        findings = [f for m in report["mappings"] for f in m["findings"]]
        print(f"{name}: changed Inventory {changed['provider']} / {changed['class']}: verify exited {code} in {seconds:.2f}s with {len(findings)} finding(s):")
        for finding in findings:
            print(f"  {json.dumps(finding)}")
        individual = report["rows_individual"] / report["rows_total"]
        print(f"{name}: rows read one by one to find it: {report['rows_individual']:,} of {report['rows_total']:,} = {individual:.4%} (goal <= 5%)")
        results[name] = (statistics.median(ratios), min(ratios), max(ratios), max(verify_rss))
        target.stop()

    print()
    for name, (median, low, high, rss) in results.items():
        print(
            f"{name}: full verification / migration, median of {args.repeat}: {median:.2f} "
            f"(range {low:.2f}-{high:.2f}; goal <= 1), verify's peak RSS {rss:.0f} MiB"
        )


if __name__ == "__main__":
    main()

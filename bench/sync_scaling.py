#!/usr/bin/env python3
"""How sync's catch-up grows: one `grafter sync` pass over a backlog, at several source sizes, per target.

The shop of bench/sync.py (items followed by an `updated_at` cursor, ledger entries through a
change-log table, hard deletes included) in a PostgreSQL database of its own, scaled: N source
rows, two thirds items and one third ledger entries. For each N and each target (the embedded
store; FalkorDB and Neo4j 5 as private servers the project's scripts start, emptied before
each size):
  1. `grafter run --no-verify --no-snapshot` loads the N rows, and a first `grafter sync` pass
     takes its positions (it reads every row once: they share the timestamp the run's watermark
     is, which sync's overlap takes in again; both timed, for reference);
     100 changes and a pass more than sync's overlap later move the positions past the load.
  2. With sync stopped, pgbench writes a backlog of N / 10 changes as fast as it can (the same
     weights as bench/sync.py: updates, inserts and deletes over both tables).
  3. One `grafter sync` pass applies it: wall time, changes applied per second and peak RSS.
  4. `grafter verify` must pass: the graph holds exactly the source after the catch-up.

The backlog grows with N, so a linear catch-up doubles its time when N doubles; the figure to
watch is the exponent of a log-log fit of catch-up time against N (1.0: linear), and whether
the rate holds. Memory should stay flat on the server targets.

Usage: bench/sync_scaling.py [--rows 250000,1000000,4000000] [--targets grafeo,falkordb,neo4j]
"""
import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from placement import GRAFTER, build, in_project_python  # noqa: E402

# verify.py's targets need the neo4j module: re-run this script, not that one, where it is.
in_project_python("neo4j", __file__)
from sync import CONFIG, DATABASE, PSQL, pgbench, psql, schema, writers  # noqa: E402
from verify import Embedded, Falkor, Neo4j  # noqa: E402


def timed(work, *args):
    """Runs grafter under /usr/bin/time; returns (stdout, wall seconds, peak RSS in MiB)."""
    started = time.monotonic()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", GRAFTER, *args], cwd=work, capture_output=True, text=True)
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"grafter {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr[-3000:]}")
    return result.stdout, wall, int(result.stderr.strip().splitlines()[-1]) / 1024


def exponent(sizes, seconds):
    """Slope of the least-squares fit of log(seconds) against log(size)."""
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="250000,1000000,4000000", help="comma-separated source sizes")
    parser.add_argument("--targets", default="grafeo,falkordb,neo4j", help="comma-separated: grafeo, falkordb, neo4j")
    parser.add_argument("--falkordb-port", type=int, default=6391)
    parser.add_argument("--neo4j-port", type=int, default=7701)
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]

    build("grafter-cli")
    makers = {"grafeo": Embedded, "falkordb": lambda: Falkor(args.falkordb_port), "neo4j": lambda: Neo4j(args.neo4j_port)}
    results = {name: [] for name in args.targets.split(",")}
    for rows in sizes:
        items, entries = rows * 2 // 3, rows // 3
        backlog = rows // 10
        for name in results:
            target = makers[name]()
            subprocess.run(PSQL + ["-d", "test", "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True)
            subprocess.run(PSQL + ["-d", "test", "-c", f"CREATE DATABASE {DATABASE}"], check=True)
            psql(schema(items, entries))
            # The load's rows older than sync's overlap window (3 s) before the run: the first
            # pass then reads the backlog alone, not the load's last seconds again.
            time.sleep(4)
            with tempfile.TemporaryDirectory(prefix="grafter-bench-sync-scaling-") as tmp:
                work = Path(tmp)
                config = CONFIG.format(database=DATABASE)
                if target.url():
                    config += f'\n[target]\nurl = "{target.url()}"\n'
                (work / "grafter.toml").write_text(config)
                scripts = work / "writers"
                scripts.mkdir()
                for script, body in writers(items, entries).items():
                    (scripts / script.split("@")[0]).write_text(body)
                target.empty(work)
                _, loaded, _ = timed(work, "run", "-q", "--no-verify", "--no-snapshot")
                # The run left sync a watermark (the newest change before it read), but every
                # generated row shares that one timestamp, so sync's overlap (3 s back from
                # it) takes them all in again: the first pass reads every row and finds them
                # unchanged. A few changes and a pass later than the overlap move it on, as a
                # follower's would be before it stopped.
                _, first, _ = timed(work, "sync", "-q")
                time.sleep(4)
                pgbench(scripts, None, transactions=100)
                time.sleep(4)
                timed(work, "sync", "-q")
                time.sleep(4)
                written, tps = pgbench(scripts, None, transactions=backlog)
                out, seconds, rss = timed(work, "sync", "-q", "--format", "json")
                summary = json.loads(out)
                applied = sum(
                    m["session"]["created"] + m["session"]["updated"] + m["session"]["deleted"] for m in summary["mappings"]
                )
                out, verified, _ = timed(work, "verify", "-q", "--format", "json")
                assert json.loads(out)["passed"], f"the graph holds the source after the catch-up ({name}, {rows:,})"
                results[name].append((rows, seconds, rss))
                print(
                    f"{name} {rows:,} rows (loaded in {loaded:.1f}s, first sync pass {first:.1f}s): {written:,} changes written at {tps:,.0f}/s; "
                    f"one sync pass applied {applied:,} graph changes in {seconds:.2f}s = {applied / seconds:,.0f}/s, "
                    f"peak RSS {rss:.0f} MiB; verify passed in {verified:.1f}s",
                    flush=True,
                )
            target.stop()
    subprocess.run(PSQL + ["-d", "test", "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True)

    print()
    for name, points in results.items():
        line = ", ".join(f"{rows:,}: {seconds:.2f}s {rss:.0f} MiB" for rows, seconds, rss in points)
        fit = f"; exponent {exponent([p[0] for p in points], [p[1] for p in points]):.2f}" if len(points) > 1 else ""
        print(f"{name} catch-up: {line}{fit}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The idempotent re-run: `grafter run` again into a graph that already holds its data,
against the official client's batched MERGE of the same records, on FalkorDB and Neo4j.

Users run a config a second time after changing a mapping, or just to be sure: every record
then meets an element that is already there. The synthetic graph of bench/falkordb_load.py
(N (:Person {id, name, age, score}) nodes keyed by id, N (:Person)-[:KNOWS {since}]->(:Person)
relationships, generated once into bench/out/falkordb-N/) is loaded once by `grafter run`
into a private server (`scripts/falkordb`, `scripts/neo4j`, started afresh, not timed). Then,
per repeat, on that graph:

  grafter   `grafter run --fresh -q --no-verify --no-snapshot` of the same config, timed as
            a whole process (connect, look up, write, finish, close). `--fresh` because the
            plain re-run of an unchanged config finds every mapping finished and has nothing
            to do; `--fresh` is what a changed mapping costs: every record written again;
  anchor    the official Python client (`falkordb`, `neo4j`), the records already in memory,
            `UNWIND $rows` batches of 10,000 (grafter's batch size):
              MERGE (p:Person {id: r.id}) SET p.name = …, p.age = …, p.score = …
              MATCH (a:Person {id: r.src}) MATCH (b:Person {id: r.dst})
                MERGE (a)-[k:KNOWS]->(b) SET k.since = r.since
            only the queries timed.

After each, the graph must still hold exactly the source's records (counts and sums over
every property and both ends: a re-run that duplicated anything fails the benchmark), and
grafter's summary must count every record as updated, none created or rejected. The server's
CPU seconds are read from /proc for both. Prints the medians and grafter's ratio to the
anchor (goal: grafter's time ≤ the anchor's, a ratio ≥ 1 in speed).

Usage: bench/rerun.py [--nodes N] [--repeat K] [--targets falkordb,neo4j] [--grafter PATH]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from placement import GRAFTER, OUT, build, in_project_python  # noqa: E402

in_project_python("neo4j", __file__)
from falkordb import FalkorDB  # noqa: E402
from falkordb_load import MAPPINGS, generate, source_digest, source_records, timed  # noqa: E402
from neo4j_load import PASSWORD, Server as Neo4jServer  # noqa: E402
from neo4j_load import check as neo4j_check  # noqa: E402

BATCH = 10_000
GRAPH = "grafter_bench_rerun"
FALKOR_PORT = 6391
NEO4J_PORT = 7701

NODE_MERGE = "UNWIND $rows AS r MERGE (p:Person {id: r.id}) SET p.name = r.name, p.age = r.age, p.score = r.score"
REL_MERGE = (
    "UNWIND $rows AS r MATCH (a:Person {id: r.src}) MATCH (b:Person {id: r.dst}) "
    "MERGE (a)-[k:KNOWS]->(b) SET k.since = r.since"
)

GRAFTER_TOML = """\
[source]
url = "sqlite:{database}"

[target]
url = "{url}"

""" + MAPPINGS


def server_cpu(pid_file):
    """CPU seconds (user + system, every thread) the server process has used so far."""
    pid = Path(pid_file).read_text().strip()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Falkor:
    name = "falkordb"

    def __init__(self):
        self.env = dict(os.environ, FALKORDB_PORT=str(FALKOR_PORT), FALKORDB_BOLT_PORT=str(FALKOR_PORT + 1000))
        self.url = f"falkordb://127.0.0.1:{FALKOR_PORT}/{GRAPH}"
        self.pid_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"grafter-falkordb-{FALKOR_PORT}" / "redis.pid"

    def script(self, command):
        subprocess.run([ROOT / "scripts" / "falkordb", command], env=self.env, check=True, capture_output=True)

    def fresh(self):
        self.script("stop")
        self.script("start")

    def stop(self):
        self.script("stop")

    def check(self, expected, who):
        graph = FalkorDB(host="127.0.0.1", port=FALKOR_PORT).select_graph(GRAPH)
        nodes = graph.ro_query("MATCH (n:Person) RETURN count(n), sum(n.id), sum(n.age), sum(n.score)").result_set[0]
        rels = graph.ro_query(
            "MATCH (a:Person)-[r:KNOWS]->(b:Person) RETURN count(r), sum(a.id), sum(b.id), sum(r.since)"
        ).result_set[0]
        (n, i, a, s), want_rels = expected
        if (nodes[0], nodes[1], nodes[2]) != (n, i, a) or abs(nodes[3] - s) > 1e-6 * max(1.0, abs(s)) or tuple(rels) != tuple(want_rels):
            sys.exit(f"{who}: the graph differs from the source: {nodes} {rels} vs {expected}")

    def anchor(self, people, knows):
        graph = FalkorDB(host="127.0.0.1", port=FALKOR_PORT).select_graph(GRAPH)
        started = time.perf_counter()
        for query, records in ((NODE_MERGE, people), (REL_MERGE, knows)):
            for i in range(0, len(records), BATCH):
                graph.query(query, {"rows": records[i : i + BATCH]})
        return time.perf_counter() - started


class Neo4j:
    name = "neo4j"

    def __init__(self):
        self.server = Neo4jServer("neo4j", NEO4J_PORT)
        self.url = self.server.url
        self.pid_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"grafter-neo4j-{NEO4J_PORT}" / "server.pid"

    def fresh(self):
        self.server.fresh()

    def stop(self):
        self.server.script("stop")

    def check(self, expected, who):
        neo4j_check(self.server, expected, who)

    def anchor(self, people, knows):
        with self.server.driver() as driver:
            started = time.perf_counter()
            for query, records in ((NODE_MERGE, people), (REL_MERGE, knows)):
                for i in range(0, len(records), BATCH):
                    driver.execute_query(query, {"rows": records[i : i + BATCH]})
            return time.perf_counter() - started


def grafter_run(binary, work, fresh):
    command = [binary, "run", "-q", "--no-verify", "--no-snapshot", "--format", "json"]
    out, wall, rss, _ = timed(command + ["--fresh"] * fresh, work)
    return json.loads(out), wall, rss


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1_000_000, help="nodes, and relationships (default 1M each)")
    parser.add_argument("--repeat", type=int, default=3, help="re-run + anchor pairs per target (default 3)")
    parser.add_argument("--targets", default="falkordb,neo4j", help="comma-separated: falkordb, neo4j")
    parser.add_argument("--grafter", help="another grafter binary to time (default: the profiling build)")
    args = parser.parse_args()

    binary = args.grafter or GRAFTER
    if not args.grafter:
        build("grafter-cli")
    database = generate(OUT / f"falkordb-{args.nodes}", args.nodes)
    expected = source_digest(database)
    people, knows = source_records(database)
    records = len(people) + len(knows)
    targets = {"falkordb": Falkor, "neo4j": Neo4j}
    results = []
    for name in args.targets.split(","):
        target = targets[name]()
        work = database.parent / f"rerun-{name}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        (work / "grafter.toml").write_text(GRAFTER_TOML.format(database=database, url=target.url))
        target.fresh()
        try:
            print(f"{name}: first load ...", flush=True)
            _, wall, _ = grafter_run(binary, work, fresh=False)
            target.check(expected, "grafter's first run")
            print(f"  {records:,} records in {wall:.1f}s", flush=True)
            pairs = []
            for k in range(args.repeat):
                cpu = server_cpu(target.pid_file)
                summary, g_wall, g_rss = grafter_run(binary, work, fresh=True)
                g_cpu = server_cpu(target.pid_file) - cpu
                updated = sum(m["updated"] for m in summary["mappings"])
                created = sum(m["created"] for m in summary["mappings"])
                rejected = sum(m["rejected"] for m in summary["mappings"])
                if (updated, created, rejected) != (records, 0, 0):
                    sys.exit(f"{name}: the re-run updated {updated:,}, created {created:,}, rejected {rejected:,} of {records:,}")
                target.check(expected, "grafter's re-run")
                cpu = server_cpu(target.pid_file)
                a_wall = target.anchor(people, knows)
                a_cpu = server_cpu(target.pid_file) - cpu
                target.check(expected, "the anchor's MERGE")
                pairs.append((g_wall, a_wall))
                print(
                    f"  re-run {k + 1}: grafter {g_wall:.1f}s (server CPU {g_cpu:.1f}s, peak RSS {g_rss:,.0f} MiB), "
                    f"anchor {a_wall:.1f}s (server CPU {a_cpu:.1f}s): ratio {a_wall / g_wall:.2f}",
                    flush=True,
                )
            results.append((name, pairs))
        finally:
            target.stop()

    print()
    print(f"Re-run of {args.nodes:,} nodes + {args.nodes:,} relationships into a graph that holds them, medians of {args.repeat}")
    print(f"{'target':10} {'grafter':>10} {'anchor MERGE':>13} {'anchor ÷ grafter (goal ≥ 1)':>28}")
    for name, pairs in results:
        g = statistics.median(p[0] for p in pairs)
        a = statistics.median(p[1] for p in pairs)
        ratio = statistics.median(p[1] / p[0] for p in pairs)
        print(f"{name:10} {g:>9.1f}s {a:>12.1f}s {ratio:>28.2f}")


if __name__ == "__main__":
    main()

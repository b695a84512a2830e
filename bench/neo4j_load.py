#!/usr/bin/env python3
"""Neo4j load benchmark: grafter against the ways people load Neo4j, side by side in one run.

The synthetic graph of bench/falkordb_load.py (N (:Person {id, name, age, score}) nodes keyed
by id, N (:Person)-[:KNOWS {since}]->(:Person) relationships), generated once into
bench/out/falkordb-N/. Each contender loads it into an empty database of a private Neo4j
Community 5.26 (`scripts/neo4j`, full JIT, on --port; started afresh for each contender, not
timed):
  grafter      `grafter run -q --no-verify` from the SQLite database over `bolt://`, timed as
               a whole process (connect, key constraint, load, finish, close); nodes/s and
               relationships/s from its summary's per-mapping seconds; peak RSS at N/4 and N.
  (a) UNWIND   the official Python `neo4j` driver, the key constraint first, `UNWIND $rows`
               batches of 10,000 with CREATE for nodes and MATCH … MATCH … CREATE for
               relationships, records already in memory; only the queries are timed.
  (b) per rec  one query per record, as migration scripts usually do: SAMPLE nodes and SAMPLE
               relationships, timed, rates extrapolated.
  (c) import   `neo4j-admin database import full` (run from Maven Central's jars, the ones
               scripts/neo4j builds with) on the same data as CSV, offline, timed as a process.
Every graph loaded online is checked against the source (counts, and sums over every
property and both ends of every relationship) before its figures count. For grafter and (a)
the server's own CPU time is read from /proc (its process, all threads) and printed with
how many cores it kept busy: on a machine with few cores the server's CPU, not the client,
is what bounds an online load. Then the same
comparison of grafter and (a) on ArcadeDB (`scripts/arcadedb`, --arcadedb-nodes). Prints the
rates, grafter's ratios and the issue's goals (nodes >= 2x (a), relationships >= 3x (a),
within 3x of (c)).

Usage: bench/neo4j_load.py [--nodes N] [--sample S] [--port P] [--arcadedb-nodes M] [--grafter-only]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
from placement import GRAFTER, OUT, build, in_project_python  # noqa: E402

in_project_python("neo4j", __file__)
from falkordb_load import MAPPINGS, generate, rate, source_digest, source_records, timed  # noqa: E402
from neo4j import GraphDatabase  # noqa: E402

UNWIND_BATCH = 10_000
PASSWORD = "grafter-test-password"

GRAFTER_TOML = """\
[source]
url = "sqlite:{database}"

[target]
url = "{url}"

""" + MAPPINGS


class Server:
    """A private Neo4j or ArcadeDB started by the project's script, emptied by a restart."""

    def __init__(self, kind, port):
        self.kind, self.port = kind, port
        self.env = dict(os.environ)
        if kind == "neo4j":
            self.env.update(NEO4J_PORT=str(port), NEO4J_JAVA_OPTS="", NEO4J_HEAP=os.environ.get("NEO4J_HEAP", "2g"))
            self.url = f"bolt://neo4j:{PASSWORD}@127.0.0.1:{port}"
            self.database, self.auth = None, ("neo4j", PASSWORD)
        else:
            self.env.update(ARCADEDB_PORT=str(port), ARCADEDB_HTTP_PORT="2500-2509")
            self.url = f"bolt://root:{PASSWORD}@127.0.0.1:{port}?database=test"
            self.database, self.auth = "test", ("root", PASSWORD)

    def cpu_seconds(self):
        """CPU time the server process has used so far (user + system, every thread)."""
        pid = (Path(os.environ.get("TMPDIR", "/tmp")) / f"grafter-{self.kind}-{self.port}" / "server.pid").read_text().strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def script(self, command):
        subprocess.run([ROOT / "scripts" / self.kind, command], env=self.env, check=True, capture_output=True)

    def fresh(self):
        self.script("stop")
        self.script("start")

    def driver(self):
        return GraphDatabase.driver(f"bolt://127.0.0.1:{self.port}", auth=self.auth)

    def query(self, cypher, **params):
        with self.driver() as driver:
            return driver.execute_query(cypher, params, database_=self.database)[0]


def check(server, expected, who):
    """The graph holds exactly the source's records (counts and sums), or the run stops."""
    nodes = server.query("MATCH (p:Person) RETURN count(p) AS c, sum(p.id) AS i, sum(p.age) AS a, sum(p.score) AS s")[0]
    rels = server.query(
        "MATCH (a:Person)-[k:KNOWS]->(b:Person) RETURN count(k) AS c, sum(a.id) AS s, sum(b.id) AS d, sum(k.since) AS y"
    )[0]
    (n, i, a, s), (rc, rs, rd, ry) = expected
    got = ((nodes["c"], nodes["i"], nodes["a"]), (rels["c"], rels["s"], rels["d"], rels["y"]))
    if got != ((n, i, a), (rc, rs, rd, ry)) or abs(nodes["s"] - s) > 1e-6 * max(1.0, abs(s)):
        sys.exit(f"{who}: the graph differs from the source: {got} {nodes['s']} vs {expected}")


def run_grafter(server, database, nodes, expected):
    server.fresh()
    work = database.parent / f"{server.kind}-grafter"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    (work / "grafter.toml").write_text(GRAFTER_TOML.format(database=database, url=server.url))
    cpu_before = server.cpu_seconds()
    out, wall, rss, _ = timed([GRAFTER, "run", "-q", "--no-verify", "--format", "json"], work)
    server_cpu = server.cpu_seconds() - cpu_before
    summary = json.loads(out)
    if any(m["rejected"] for m in summary["mappings"]):
        sys.exit(f"grafter rejected rows: {out}")
    if expected is not None:
        check(server, expected, "grafter")
    seconds = {m["mapping"]: m["seconds"] for m in summary["mappings"]}
    return {"wall": wall, "rss": rss, "nodes": rate(nodes, seconds["people"]), "rels": rate(nodes, seconds["knows"]),
            "server_cpu": server_cpu, "busy": server_cpu / wall}


def run_unwind(server, people, knows, expected):
    server.fresh()
    with server.driver() as driver:
        driver.execute_query(
            "CREATE CONSTRAINT person_id IF NOT EXISTS FOR (p:Person) REQUIRE p.id IS UNIQUE", database_=server.database
        )
        cpu_before = server.cpu_seconds()
        started = time.perf_counter()
        for i in range(0, len(people), UNWIND_BATCH):
            driver.execute_query(
                "UNWIND $rows AS r CREATE (p:Person) SET p = r", {"rows": people[i : i + UNWIND_BATCH]}, database_=server.database
            )
        node_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for i in range(0, len(knows), UNWIND_BATCH):
            driver.execute_query(
                "UNWIND $rows AS r MATCH (a:Person {id: r.src}) MATCH (b:Person {id: r.dst}) CREATE (a)-[:KNOWS {since: r.since}]->(b)",
                {"rows": knows[i : i + UNWIND_BATCH]},
                database_=server.database,
            )
        rel_seconds = time.perf_counter() - started
        server_cpu = server.cpu_seconds() - cpu_before
    check(server, expected, "(a) UNWIND")
    return {"nodes": rate(len(people), node_seconds), "rels": rate(len(knows), rel_seconds),
            "server_cpu": server_cpu, "busy": server_cpu / (node_seconds + rel_seconds)}


def run_per_record(server, people, knows, sample):
    """After (a): SAMPLE new nodes (ids past the others) and SAMPLE relationships, one query each."""
    offset = len(people)
    with server.driver() as driver, driver.session(database=server.database) as session:
        started = time.perf_counter()
        for row in people[:sample]:
            session.run("CREATE (p:Person) SET p = $row", row=dict(row, id=row["id"] + offset)).consume()
        node_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for row in knows[:sample]:
            session.run(
                "MATCH (a:Person {id: $src}) MATCH (b:Person {id: $dst}) CREATE (a)-[:KNOWS {since: $since}]->(b)", **row
            ).consume()
        rel_seconds = time.perf_counter() - started
    return {"nodes": rate(sample, node_seconds), "rels": rate(sample, rel_seconds)}


def run_import(database, nodes):
    """`neo4j-admin database import full` into a home of its own; (seconds, or None and why)."""
    builds = sorted((Path.home() / ".cache" / "grafter-neo4j").glob("5.26.30-*"))
    if not builds:
        return None, "no Neo4j build (scripts/neo4j start makes one)"
    build_dir = builds[-1]
    classpath = f"{build_dir / 'grafter-neo4j-server-1.jar'}:{(build_dir / 'classpath.txt').read_text().strip()}"
    work = database.parent
    people_csv, knows_csv = work / "import-people.csv", work / "import-knows.csv"
    if not knows_csv.exists():
        import sqlite3

        with sqlite3.connect(database) as db, open(people_csv, "w") as p, open(knows_csv, "w") as k:
            # With --id-type=integer the ID column is stored as the integer property `id`.
            p.write("id:ID(Person),name,age:long,score:double\n")
            for i, name, age, score in db.execute("SELECT id, name, age, score FROM people"):
                p.write(f'{i},"{name}",{age},{score!r}\n')
            k.write(":START_ID(Person),:END_ID(Person),since:long\n")
            for src, dst, since in db.execute("SELECT src, dst, since FROM knows"):
                k.write(f"{src},{dst},{since}\n")
    home = work / "neo4j-admin-home"
    shutil.rmtree(home, ignore_errors=True)
    for sub in ("conf", "data", "logs", "import"):
        (home / sub).mkdir(parents=True)
    (home / "conf" / "neo4j.conf").write_text("")
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(home / "conf"))
    command = ["java", "-cp", classpath, "org.neo4j.cli.AdminTool", "database", "import", "full", "neo4j", "--id-type=integer",
               f"--nodes=Person={people_csv}", f"--relationships=KNOWS={knows_csv}",
               f"--report-file={home / 'import.report'}"]
    out, wall, _, _ = timed(command, work, env)
    if f"{nodes} nodes" not in out.replace(",", ""):
        return None, f"the import did not report {nodes} nodes: {out[-500:]}"
    shutil.rmtree(home, ignore_errors=True)
    return wall, None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1_000_000, help="nodes, and relationships (default 1M each)")
    parser.add_argument("--sample", type=int, default=2000, help="records for one query per record (default 2000)")
    parser.add_argument("--port", type=int, default=7797, help="the private Neo4j's Bolt port (default 7797)")
    parser.add_argument("--arcadedb-port", type=int, default=7798, help="the private ArcadeDB's Bolt port (default 7798)")
    parser.add_argument("--arcadedb-nodes", type=int, default=100_000, help="nodes and relationships on ArcadeDB (default 100k; 0 skips)")
    parser.add_argument("--grafter-only", action="store_true",
                        help="only grafter's run at N (and on ArcadeDB), checked against the source: for A/B runs of a change")
    args = parser.parse_args()

    build("grafter-cli")
    if args.grafter_only:
        for kind, port, nodes in (("neo4j", args.port, args.nodes), ("arcadedb", args.arcadedb_port, args.arcadedb_nodes)):
            if not nodes:
                continue
            server = Server(kind, port)
            try:
                database = generate(OUT / f"falkordb-{nodes}", nodes)
                g = run_grafter(server, database, nodes, source_digest(database))
            finally:
                server.script("stop")
            print(f"{kind} grafter {nodes:,}: wall {g['wall']:.1f}s, {g['nodes']:,.0f} nodes/s, {g['rels']:,.0f} rels/s, "
                  f"peak RSS {g['rss']:,.0f} MiB, server CPU {g['server_cpu']:.1f}s ({g['busy']:.2f} cores busy)", flush=True)
        return
    neo4j = Server("neo4j", args.port)
    try:
        small_db = generate(OUT / f"falkordb-{args.nodes // 4}", args.nodes // 4)
        small = run_grafter(neo4j, small_db, args.nodes // 4, source_digest(small_db))
        print(f"grafter at N/4 = {args.nodes // 4:,}: {small['wall']:.1f}s, peak RSS {small['rss']:,.0f} MiB", flush=True)

        database = generate(OUT / f"falkordb-{args.nodes}", args.nodes)
        expected = source_digest(database)
        people, knows = source_records(database)
        g = run_grafter(neo4j, database, args.nodes, expected)
        print(f"grafter: {g['wall']:.1f}s, {g['nodes']:,.0f} nodes/s, {g['rels']:,.0f} rels/s, peak RSS {g['rss']:,.0f} MiB", flush=True)
        a = run_unwind(neo4j, people, knows, expected)
        print(f"(a) UNWIND: {a['nodes']:,.0f} nodes/s, {a['rels']:,.0f} rels/s", flush=True)
        b = run_per_record(neo4j, people, knows, args.sample)
        print(f"(b) per record: {b['nodes']:,.0f} nodes/s, {b['rels']:,.0f} rels/s", flush=True)
    finally:
        neo4j.script("stop")
    c_seconds, c_why = run_import(database, args.nodes)
    print(f"(c) neo4j-admin import: {f'{c_seconds:.1f}s' if c_seconds else c_why}", flush=True)

    print()
    print(f"Neo4j 5.26, {args.nodes:,} nodes + {args.nodes:,} relationships")
    print(f"grafter            {g['nodes']:>12,.0f} nodes/s {g['rels']:>12,.0f} rels/s  wall {g['wall']:.1f}s")
    print(f"(a) driver UNWIND  {a['nodes']:>12,.0f} nodes/s {a['rels']:>12,.0f} rels/s")
    print(f"(b) per record     {b['nodes']:>12,.0f} nodes/s {b['rels']:>12,.0f} rels/s")
    print(f"server CPU         grafter {g['server_cpu']:.1f}s over its wall ({g['busy']:.2f} cores busy), "
          f"(a) {a['server_cpu']:.1f}s over its queries ({a['busy']:.2f} cores busy), {os.cpu_count()} cores here")
    print(f"ratio grafter/(a)  nodes {g['nodes'] / a['nodes']:.2f} (goal >= 2)   relationships {g['rels'] / a['rels']:.2f} (goal >= 3)")
    if c_seconds:
        print(f"(c) import         {c_seconds:.1f}s; grafter's wall / import's {g['wall'] / c_seconds:.2f} (goal <= 3)")
    print(f"peak RSS           {small['rss']:,.0f} MiB at {args.nodes // 4:,}, {g['rss']:,.0f} MiB at {args.nodes:,}")

    if args.arcadedb_nodes:
        arcadedb = Server("arcadedb", args.arcadedb_port)
        try:
            database = generate(OUT / f"falkordb-{args.arcadedb_nodes}", args.arcadedb_nodes)
            expected = source_digest(database)
            people, knows = source_records(database)
            g = run_grafter(arcadedb, database, args.arcadedb_nodes, expected)
            a = run_unwind(arcadedb, people, knows, expected)
        finally:
            arcadedb.script("stop")
        print()
        print(f"ArcadeDB, {args.arcadedb_nodes:,} nodes + {args.arcadedb_nodes:,} relationships")
        print(f"grafter            {g['nodes']:>12,.0f} nodes/s {g['rels']:>12,.0f} rels/s  wall {g['wall']:.1f}s")
        print(f"(a) driver UNWIND  {a['nodes']:>12,.0f} nodes/s {a['rels']:>12,.0f} rels/s")
        print(f"ratio grafter/(a)  nodes {g['nodes'] / a['nodes']:.2f}   relationships {g['rels'] / a['rels']:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""FalkorDB load benchmark: grafter against the ways people load FalkorDB by hand.

Generates a synthetic graph once into bench/out/falkordb-N/: N (:Person {id, name, age,
score}) nodes keyed by id and N (:Person)-[:KNOWS {since}]->(:Person) relationships, written
both as a SQLite database (grafter's source) and as the CSV files falkordb-bulk-loader reads.
The anchors read the very same records from that database (untimed) and load them:

  grafter      `grafter run -q --no-verify` from the SQLite database into a new graph, timed
               as a whole process (connect, key index, load, finish, close); nodes/s and
               relationships/s from its summary's per-mapping seconds. Peak RSS at two sizes
               (N/4 and N) to show how it grows with the data. The new graph's labels load
               in bulk (GRAPH.BULK); once more with `?bulk=off`, every batch through Cypher.
  (a) UNWIND   the official Python client `falkordb`, `UNWIND $rows` batches of 5000
               (CREATE nodes, then MATCH both ends by id and CREATE relationships), the key
               index created first as grafter does. Only the queries are timed.
  (b) per rec  one query per record, the way hand-written migration scripts do it: timed on
               the first SAMPLE nodes (into an empty graph) and the first SAMPLE relationships
               (into a copy of (a)'s graph taken after its nodes, so that both ends exist).
  (c) bulk     `falkordb-bulk-insert` (offline, new graphs only) on the CSV files, with the
               same index (-i Person:id), timed as a whole process.

Then, to show where grafter's time goes, its own lookup and write queries (copied from
crates/grafter-target/src/falkordb/write.rs) are sent for the first DIAGNOSE records of each
kind, and the server's execution time of each is compared with that of (a)'s queries.

Every loaded graph is checked against the source (counts, and sums over every property and
every relationship's two ends) before its figures count; then it is deleted. Prints a table
with each contender's rates, grafter's ratios to (a) and (c), and the issue's goals.

Needs a FalkorDB: `scripts/falkordb start` is run first, on --port (default 6380; another
port needs FALKORDB_BOLT_PORT set too, as the Bolt port 7687 is taken by the first server).
A private server keeps others' queries out of the timing. Runs itself under the virtualenv
`scripts/falkordb python` names.

Usage: bench/falkordb_load.py [--nodes N] [--sample S] [--diagnose N] [--port P] [--workers N] [--no-verify]
"""
import argparse
import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

sys.path.insert(0, str(BENCH))
from placement import GRAFTER, OUT, build, in_project_python  # noqa: E402

# The Python clients live in the project's virtualenv: run there.
in_project_python("falkordb", __file__)
from falkordb import FalkorDB  # noqa: E402

UNWIND_BATCH = 5000
GRAPH_PREFIX = "grafter_bench_"
SEED = 20261122


# ---------------------------------------------------------------- data


def generate(work, nodes):
    """Writes N Person rows and N KNOWS rows as source.sqlite, Person.csv and KNOWS.csv in
    `work` (once: reused when there). Relationship i starts at a distinct node (a shuffled
    id), so no two share both ends, and ends at a random node."""
    database = work / "source.sqlite"
    if database.exists():
        return database
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    people = [
        (i, f"person-{rng.getrandbits(40):010x}", rng.randrange(18, 90), round(rng.random() * 100, 3))
        for i in range(nodes)
    ]
    starts = list(range(nodes))
    rng.shuffle(starts)
    knows = [(i, starts[i], rng.randrange(nodes), rng.randrange(1990, 2027)) for i in range(nodes)]

    partial = work / "source.sqlite.partial"
    partial.unlink(missing_ok=True)
    with sqlite3.connect(partial) as db:
        db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL, score REAL NOT NULL)")
        db.execute("CREATE TABLE knows (id INTEGER PRIMARY KEY, src INTEGER NOT NULL, dst INTEGER NOT NULL, since INTEGER NOT NULL)")
        db.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", people)
        db.executemany("INSERT INTO knows VALUES (?, ?, ?, ?)", knows)
    # falkordb-bulk-loader: the file name is the label (type); a node file's first column is
    # the id relationships refer to (kept as a property), a relationship file's first two are
    # its ends. Types are inferred from the text: repr() keeps a float a float.
    with open(work / "Person.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "age", "score"])
        writer.writerows((i, name, age, repr(score)) for i, name, age, score in people)
    with open(work / "KNOWS.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["src", "dst", "since"])
        writer.writerows((src, dst, since) for _, src, dst, since in knows)
    partial.rename(database)
    return database


def source_records(database):
    """The records as the Python anchors send them: lists of dicts, in key order."""
    with sqlite3.connect(database) as db:
        people = [dict(id=i, name=n, age=a, score=s) for i, n, a, s in db.execute("SELECT id, name, age, score FROM people ORDER BY id")]
        knows = [dict(src=s, dst=d, since=y) for s, d, y in db.execute("SELECT src, dst, since FROM knows ORDER BY id")]
    return people, knows


def source_digest(database):
    """What every loaded graph must hold, computed from the source."""
    with sqlite3.connect(database) as db:
        nodes = db.execute("SELECT count(*), sum(id), sum(age), sum(score) FROM people").fetchone()
        rels = db.execute("SELECT count(*), sum(src), sum(dst), sum(since) FROM knows").fetchone()
    return tuple(nodes), tuple(rels)


def graph_digest(graph):
    nodes = graph.ro_query("MATCH (n:Person) RETURN count(n), sum(n.id), sum(n.age), sum(n.score)").result_set[0]
    rels = graph.ro_query("MATCH (a:Person)-[r:KNOWS]->(b:Person) RETURN count(r), sum(a.id), sum(b.id), sum(r.since)").result_set[0]
    return tuple(nodes), tuple(rels)


def check(graph, expected, who):
    """Exits when `graph` does not hold exactly the source's records."""
    got = graph_digest(graph)
    for (kind, want), have in zip((("nodes", expected[0]), ("relationships", expected[1])), got):
        same = want[:3] == have[:3] and abs(want[3] - have[3]) <= 1e-6 * max(1.0, abs(want[3]))
        if not same:
            sys.exit(f"{who}: the graph's {kind} (count, sums) are {have}, the source's {want}: not the same records")


# ---------------------------------------------------------------- server


class Server:
    def __init__(self, port):
        env = dict(os.environ, FALKORDB_PORT=str(port))
        subprocess.run([ROOT / "scripts" / "falkordb", "start"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        self.port = port
        self.db = FalkorDB(host="127.0.0.1", port=port)

    def graph(self, name):
        return self.db.select_graph(GRAPH_PREFIX + name)

    def drop(self, name):
        """Deletes the graph if it is there (left over from an interrupted run, or done with)."""
        if GRAPH_PREFIX + name in self.db.list_graphs():
            self.graph(name).delete()

    def graphs(self, name):
        """The graph and those grafter made beside it (snapshots)."""
        return [g for g in self.db.list_graphs() if g.startswith(GRAPH_PREFIX + name)]


# ---------------------------------------------------------------- contenders


def timed(args, cwd, env=None):
    """Runs a command under /usr/bin/time; returns (stdout, wall seconds, peak RSS in MiB, stderr)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%e %M", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{args[0]} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    wall, rss_kb = result.stderr.strip().splitlines()[-1].split()
    return result.stdout, float(wall), int(rss_kb) / 1024, result.stderr


# The mappings of the synthetic graph, shared by the benchmarks that load it (a format
# string: braces doubled).
MAPPINGS = """\
[[nodes]]
name = "people"
label = "Person"
table = "people"
key = "id"

[[relationships]]
name = "knows"
type = "KNOWS"
table = "knows"
start = {{ label = "Person", key = "src" }}
end = {{ label = "Person", key = "dst" }}
columns = ["since"]
"""

GRAFTER_TOML = """\
[source]
url = "sqlite:{database}"

[target]
url = "falkordb://127.0.0.1:{port}/{graph}{options}"

""" + MAPPINGS


def run_grafter(server, database, name, expected, verify, workers, options=""):
    """One `grafter run` into a new graph (`options`: the target URL's, e.g. ?bulk=off);
    returns its figures."""
    for graph in server.graphs(name):
        server.db.select_graph(graph).delete()
    work = database.parent / f"grafter-{name}"
    work.mkdir(exist_ok=True)
    for leftover in work.iterdir():
        leftover.unlink()
    (work / "grafter.toml").write_text(GRAFTER_TOML.format(database=database, port=server.port, graph=GRAPH_PREFIX + name, options=options))
    command = [GRAFTER, "run", "-q", "--no-verify", "--format", "json"]
    if workers:
        command += ["--workers", workers]
    out, wall, rss, _ = timed(command, work)
    summary = json.loads(out)
    mappings = {m["kind"]: m for m in summary["mappings"]}
    if any(m["rejected"] for m in summary["mappings"]):
        sys.exit(f"grafter rejected rows: {out}")
    check(server.graph(name), expected, "grafter")
    figures = {
        "seconds": wall,
        "rows": sum(m["written"] for m in summary["mappings"]),
        "rss_mib": rss,
        "nodes": mappings["node"]["written"],
        "node_seconds": mappings["node"]["seconds"],
        "relationships": mappings["relationship"]["written"],
        "rel_seconds": mappings["relationship"]["seconds"],
    }
    if verify:
        _, figures["verify_seconds"], figures["verify_rss_mib"], _ = timed([GRAFTER, "verify", "-q"], work)
    for graph in server.graphs(name):
        server.db.select_graph(graph).delete()
    return figures


NODE_UNWIND = "UNWIND $rows AS r CREATE (:Person {id: r.id, name: r.name, age: r.age, score: r.score})"
REL_UNWIND = "UNWIND $rows AS r MATCH (a:Person {id: r.src}), (b:Person {id: r.dst}) CREATE (a)-[:KNOWS {since: r.since}]->(b)"
NODE_ONE = "CREATE (:Person {id: $id, name: $name, age: $age, score: $score})"
REL_ONE = "MATCH (a:Person {id: $src}), (b:Person {id: $dst}) CREATE (a)-[:KNOWS {since: $since}]->(b)"


# grafter's queries for this graph, as crates/grafter-target/src/falkordb/write.rs builds them
# (lookup, then CREATE with its checkpoint; the run's marks and checkpoint fields are made up):
# what the server spends on each shows where grafter's time goes. Keep in step with write.rs.
GRAFTER_PARAMS = 'run="20261122T000000.000Z-bench" cp_run="20261122T000000.000Z-bench" cp_mapping="m" cp_partition=0 cp={batches: 1, read: 10000, written: 10000}'
GRAFTER_CHECKPOINT = "WITH count({v}) AS written MERGE (c:_GrafterCheckpoint {{run: $cp_run, mapping: $cp_mapping, partition: $cp_partition}}) SET c += $cp RETURN written"
GRAFTER_NODE_LOOKUP = "UNWIND $rows AS r MATCH (o:`Person` {`id`: r[1]}) RETURN r[0], o.`_grafter_run` = $run"
GRAFTER_NODE_WRITE = (
    "UNWIND $rows AS r CREATE (n:`Person`) SET n.`id` = r[1], n.`name` = r[2], n.`age` = r[3], n.`score` = r[4], "
    "n.`_grafter_run` = $run " + GRAFTER_CHECKPOINT.format(v="n")
)
GRAFTER_REL_LOOKUP = (
    "UNWIND $rows AS r OPTIONAL MATCH (a:`Person` {`id`: r[1]}) OPTIONAL MATCH (b:`Person` {`id`: r[2]}) "
    "OPTIONAL MATCH (a)-[x:`KNOWS`]->(b) WITH r, a, b, x WHERE a IS NULL OR b IS NULL OR x IS NOT NULL "
    "RETURN r[0], a IS NULL, b IS NULL, x.`_grafter_run` = $run"
)
GRAFTER_REL_WRITE = (
    "UNWIND $rows AS r MATCH (a:`Person` {`id`: r[1]}), (b:`Person` {`id`: r[2]}) CREATE (a)-[x:`KNOWS`]->(b) "
    "SET x.`since` = r[3], x.`_grafter_run` = $run " + GRAFTER_CHECKPOINT.format(v="x")
)
GRAFTER_BATCH = 10_000  # grafter's default batch size


def grafter_shaped(graph, lookup, write, rows):
    """Sends `rows` (lists, first the batch position) as grafter does: per batch its lookup,
    then its write. Returns the server-reported seconds of (lookups, writes)."""
    lookups = writes = 0.0
    for i in range(0, len(rows), GRAFTER_BATCH):
        batch = rows[i : i + GRAFTER_BATCH]
        literal = "[" + ",".join("[" + ",".join([str(j), *map(json.dumps, row)]) + "]" for j, row in enumerate(batch)) + "]"
        lookups += graph.ro_query(f"CYPHER {GRAFTER_PARAMS} rows={literal} {lookup}").run_time_ms
        writes += graph.query(f"CYPHER {GRAFTER_PARAMS} rows={literal} {write}").run_time_ms
    return lookups / 1000, writes / 1000


def diagnose(server, people, knows, count):
    """Server seconds of grafter's queries on the first `count` nodes (into an empty graph)
    and relationships (into a copy of (a)'s nodes, left by run_python_anchors as `shapes`)."""
    server.drop("shapes_nodes")
    graph = server.graph("shapes_nodes")
    graph.create_node_range_index("Person", "id")
    rows = [[p["id"], p["name"], p["age"], p["score"]] for p in people[:count]]
    node = grafter_shaped(graph, GRAFTER_NODE_LOOKUP, GRAFTER_NODE_WRITE, rows)
    server.drop("shapes_nodes")
    rows = [[k["src"], k["dst"], k["since"]] for k in knows[:count]]
    rel = grafter_shaped(server.graph("shapes"), GRAFTER_REL_LOOKUP, GRAFTER_REL_WRITE, rows)
    server.drop("shapes")
    return {"count": count, "node_lookup": node[0], "node_write": node[1], "rel_lookup": rel[0], "rel_write": rel[1]}


def unwind(graph, query, records):
    """Sends `records` in UNWIND batches; returns (seconds, server-reported seconds per batch)."""
    server = []
    started = time.perf_counter()
    for i in range(0, len(records), UNWIND_BATCH):
        server.append(graph.query(query, {"rows": records[i : i + UNWIND_BATCH]}).run_time_ms / 1000)
    return time.perf_counter() - started, server


def one_by_one(graph, query, records):
    started = time.perf_counter()
    for record in records:
        graph.query(query, record)
    return time.perf_counter() - started


def run_python_anchors(server, people, knows, expected, sample):
    """(a) UNWIND batches and (b) one query per record; returns their figures. Leaves a copy
    of (a)'s graph with its nodes only as `shapes`, for diagnose()."""
    for name in ("unwind", "per_record_nodes", "per_record_rels", "shapes"):
        server.drop(name)
    graph = server.graph("unwind")
    graph.create_node_range_index("Person", "id")
    node_seconds, node_server = unwind(graph, NODE_UNWIND, people)
    # (b)'s relationships need every node there: a copy of this graph, made by the server.
    graph.copy(GRAPH_PREFIX + "per_record_rels")
    graph.copy(GRAPH_PREFIX + "shapes")
    rel_seconds, rel_server = unwind(graph, REL_UNWIND, knows)
    check(graph, expected, "(a) UNWIND")
    server.drop("unwind")
    a = {
        "nodes": len(people), "node_seconds": node_seconds, "node_server": node_server,
        "relationships": len(knows), "rel_seconds": rel_seconds, "rel_server": rel_server,
    }  # fmt: skip

    graph = server.graph("per_record_nodes")
    graph.create_node_range_index("Person", "id")
    node_seconds = one_by_one(graph, NODE_ONE, people[:sample])
    created = graph.ro_query("MATCH (n:Person) RETURN count(n)").result_set[0][0]
    rel_graph = server.graph("per_record_rels")
    rel_seconds = one_by_one(rel_graph, REL_ONE, knows[:sample])
    rels = rel_graph.ro_query("MATCH ()-[r:KNOWS]->() RETURN count(r)").result_set[0][0]
    if (created, rels) != (sample, sample):
        sys.exit(f"(b) per record: {created} nodes and {rels} relationships created of {sample} each")
    server.drop("per_record_nodes")
    server.drop("per_record_rels")
    b = {"nodes": sample, "node_seconds": node_seconds, "relationships": sample, "rel_seconds": rel_seconds}
    return a, b


def run_bulk_loader(server, work, expected):
    """(c) falkordb-bulk-insert on the CSV files, timed as a whole process."""
    server.drop("bulk")
    loader = Path(sys.executable).parent / "falkordb-bulk-insert"
    _, wall, rss, _ = timed(
        [loader, GRAPH_PREFIX + "bulk", "-u", f"redis://127.0.0.1:{server.port}",
         "-n", work / "Person.csv", "-r", work / "KNOWS.csv", "-i", "Person:id"],
        work,
    )  # fmt: skip
    check(server.graph("bulk"), expected, "(c) falkordb-bulk-insert")
    server.drop("bulk")
    return {"seconds": wall, "rows": expected[0][0] + expected[1][0], "rss_mib": rss}


# ---------------------------------------------------------------- report


def rate(count, seconds):
    return count / seconds if seconds > 0 else float("inf")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1_000_000, help="nodes, and relationships, of the full size (default 1M each)")
    parser.add_argument("--sample", type=int, default=2000, help="records (of each kind) timed one query each for (b) (default 2000)")
    parser.add_argument("--port", type=int, default=6380, help="FalkorDB's port (default 6380)")
    parser.add_argument("--no-verify", action="store_true", help="skip timing `grafter verify` after grafter's full-size load")
    parser.add_argument("--workers", help="grafter's --workers (default: grafter's own, the number of cores)")
    parser.add_argument(
        "--diagnose", type=int, default=50_000, metavar="N",
        help="time grafter's own queries on the first N records of each kind, server side (default 50000; 0: skip)",
    )  # fmt: skip
    args = parser.parse_args()

    build("grafter-cli")
    server = Server(args.port)
    small_nodes = max(args.nodes // 4, 1)
    print(f"generating {args.nodes:,} and {small_nodes:,} nodes and relationships (once, into {OUT})", flush=True)
    database = generate(OUT / f"falkordb-{args.nodes}", args.nodes)
    small_database = generate(OUT / f"falkordb-{small_nodes}", small_nodes)
    expected, small_expected = source_digest(database), source_digest(small_database)

    print("grafter, small size ...", flush=True)
    small = run_grafter(server, small_database, "grafter_quarter", small_expected, False, args.workers)
    print(f"  {small['rows']:,} rows in {small['seconds']:.1f}s, peak RSS {small['rss_mib']:,.0f} MiB", flush=True)
    print("grafter, full size ...", flush=True)
    g = run_grafter(server, database, "grafter_full", expected, not args.no_verify, args.workers)
    print(f"  {g['rows']:,} rows in {g['seconds']:.1f}s, peak RSS {g['rss_mib']:,.0f} MiB", flush=True)

    print("grafter, full size, ?bulk=off (every batch through Cypher) ...", flush=True)
    cy = run_grafter(server, database, "grafter_cypher", expected, False, args.workers, "?bulk=off")
    print(f"  {cy['rows']:,} rows in {cy['seconds']:.1f}s, peak RSS {cy['rss_mib']:,.0f} MiB", flush=True)

    print("(c) falkordb-bulk-insert ...", flush=True)
    c = run_bulk_loader(server, database.parent, expected)
    print(f"  {c['rows']:,} rows in {c['seconds']:.1f}s", flush=True)

    people, knows = source_records(database)
    print(f"(a) UNWIND batches of {UNWIND_BATCH} and (b) one query per record ({args.sample:,} of each) ...", flush=True)
    a, b = run_python_anchors(server, people, knows, expected, min(args.sample, args.nodes))
    d = None
    if args.diagnose:
        print(f"grafter's queries on the first {min(args.diagnose, args.nodes):,} records ...", flush=True)
        d = diagnose(server, people, knows, min(args.diagnose, args.nodes))
    server.drop("shapes")
    del people, knows

    g_nodes, g_rels = rate(g["nodes"], g["node_seconds"]), rate(g["relationships"], g["rel_seconds"])
    g_rows = rate(g["rows"], g["seconds"])
    a_nodes, a_rels = rate(a["nodes"], a["node_seconds"]), rate(a["relationships"], a["rel_seconds"])
    a_rows = rate(a["nodes"] + a["relationships"], a["node_seconds"] + a["rel_seconds"])
    b_nodes, b_rels = rate(b["nodes"], b["node_seconds"]), rate(b["relationships"], b["rel_seconds"])
    b_rows = rate(b["nodes"] + b["relationships"], b["node_seconds"] + b["rel_seconds"])
    c_rows = rate(c["rows"], c["seconds"])

    print()
    print(f"{args.nodes:,} nodes and {args.nodes:,} relationships, FalkorDB on 127.0.0.1:{args.port}")
    print(f"{'':34} {'nodes/s':>10} {'rels/s':>10} {'rows/s':>10}   grafter's rows/s ratio")
    cy_nodes, cy_rels = rate(cy["nodes"], cy["node_seconds"]), rate(cy["relationships"], cy["rel_seconds"])
    cy_rows = rate(cy["rows"], cy["seconds"])
    print(f"{'grafter run':34} {g_nodes:>10,.0f} {g_rels:>10,.0f} {g_rows:>10,.0f}")
    print(f"{'grafter run, ?bulk=off':34} {cy_nodes:>10,.0f} {cy_rels:>10,.0f} {cy_rows:>10,.0f}   {g_rows / cy_rows:.2f}")
    print(f"{'(a) falkordb client, UNWIND 5000':34} {a_nodes:>10,.0f} {a_rels:>10,.0f} {a_rows:>10,.0f}   {g_rows / a_rows:.2f}")
    print(f"{'(b) one query per record':34} {b_nodes:>10,.0f} {b_rels:>10,.0f} {b_rows:>10,.0f}   {g_rows / b_rows:.0f}")
    print(f"{'(c) falkordb-bulk-insert':34} {'':>10} {'':>10} {c_rows:>10,.0f}   {g_rows / c_rows:.2f}")
    print()
    print(f"grafter nodes/s ÷ (a): {g_nodes / a_nodes:.2f}   relationships/s ÷ (a): {g_rels / a_rels:.2f}   (goal ≥ 2 each)")
    print(f"grafter rows/s ÷ (c):  {g_rows / c_rows:.2f}   (goal ≥ 0.5: within 2× of the bulk loader)")
    print(
        f"grafter peak RSS: {small['rss_mib']:,.0f} MiB at {small['rows']:,} rows, {g['rss_mib']:,.0f} MiB at {g['rows']:,} rows "
        f"(×{g['rss_mib'] / small['rss_mib']:.2f} for ×{g['rows'] / small['rows']:.0f} the data; goal: flat)"
    )
    print(
        f"grafter's {g['seconds']:.1f}s: nodes {g['node_seconds']:.1f}s, relationships {g['rel_seconds']:.1f}s, "
        f"the rest ({g['seconds'] - g['node_seconds'] - g['rel_seconds']:.1f}s) connecting, the key index, finishing the run"
    )
    print(
        f"(a) server-reported query time: nodes {sum(a['node_server']):.1f}s of {a['node_seconds']:.1f}s, "
        f"relationships {sum(a['rel_server']):.1f}s of {a['rel_seconds']:.1f}s"
    )
    if d:
        first = -(-d["count"] // UNWIND_BATCH)
        a_node, a_rel = sum(a["node_server"][:first]), sum(a["rel_server"][:first])
        print(f"server time for the first {d['count']:,} records, µs per record (grafter's queries, sent as grafter sends them):")
        for kind, a_time, lookup, write in (("nodes", a_node, d["node_lookup"], d["node_write"]), ("relationships", a_rel, d["rel_lookup"], d["rel_write"])):
            per = 1e6 / d["count"]
            print(
                f"  {kind:13}  (a)'s query {a_time * per:5.1f}   grafter: lookup {lookup * per:5.1f} + write {write * per:5.1f} "
                f"= {(lookup + write) * per:5.1f} ({(lookup + write) / a_time:.2f}× (a)'s)"
            )
    print(f"(c) falkordb-bulk-insert: {c['seconds']:.1f}s, peak RSS {c['rss_mib']:,.0f} MiB")
    if "verify_seconds" in g:
        print(f"grafter verify after the full load: {g['verify_seconds']:.1f}s, peak RSS {g['verify_rss_mib']:,.0f} MiB")


if __name__ == "__main__":
    main()

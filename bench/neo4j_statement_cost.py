#!/usr/bin/env python3
"""What a node and a relationship cost Neo4j, by the shape of the statement that writes them.

Writes N nodes and N relationships into a private Neo4j Community 5.26 (`scripts/neo4j`, on
--port, started afresh) with the official driver, one session, `UNWIND $rows` batches of
10,000, in several shapes of statement, and prints for each the server's own CPU time (read
from /proc, every thread of its process) and the elements written per server CPU-second.
Each shape runs --reps times (the first pays for the server's JIT). It is how bench/README.md
tells where an online load's ceiling is: if every shape costs the server the same, a client
can only go faster by keeping more of the server's cores busy.

Shapes: nodes with `SET n.a = r[1], …` (grafter's), `CREATE (n {…})`, `SET n = r` with maps (the
driver benchmark's), each with the key constraint first; nodes with the constraint made after
them. Relationships: `MATCH … MATCH … CREATE` (no check), grafter's one-statement write that
gathers the batch (`WHERE NOT (a)-[:T]->(b)`, `collect`), and the same check counting instead.

Usage: bench/neo4j_statement_cost.py [--nodes N] [--reps R] [--port P]
"""
import argparse
import random
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from placement import in_project_python  # noqa: E402

in_project_python("neo4j", __file__)
from neo4j_load import Server  # noqa: E402

BATCH = 10_000

NODE_SHAPES = {
    "SET n.a = r[i] (grafter)": ("UNWIND $rows AS r CREATE (n:{L}) SET n.id = r[1], n.age = r[2], n.score = r[3]", "list"),
    "CREATE (n {...})": ("UNWIND $rows AS r CREATE (n:{L} {{id: r[1], age: r[2], score: r[3]}})", "list"),
    "SET n = r, maps (driver)": ("UNWIND $rows AS r CREATE (n:{L}) SET n = r", "map"),
}

REL_SHAPES = {
    "MATCH MATCH CREATE": "UNWIND $rows AS r MATCH (a:P {id: r[1]}) MATCH (b:P {id: r[2]}) "
    "CREATE (a)-[x:{T}]->(b) SET x.since = r[3]",
    "checked, gathered (grafter)": "UNWIND $rows AS r MATCH (a:P {id: r[1]}) MATCH (b:P {id: r[2]}) "
    "WHERE NOT (a)-[:{T}]->(b) WITH collect([a, b, r]) AS found WHERE size(found) = $n "
    "UNWIND found AS f WITH f[0] AS a, f[1] AS b, f[2] AS r CREATE (a)-[x:{T}]->(b) SET x.since = r[3] "
    "WITH count(x) AS written WHERE written = $n RETURN written",
    "checked, counted": "UNWIND $rows AS r MATCH (a:P {id: r[1]}) MATCH (b:P {id: r[2]}) "
    "WHERE NOT (a)-[:{T}]->(b) CREATE (a)-[x:{T}]->(b) SET x.since = r[3] RETURN count(x)",
}


def load(server, driver, query, rows, extra=None):
    """Runs `query` over `rows` in batches; (wall seconds, server CPU seconds)."""
    cpu, started = server.cpu_seconds(), time.perf_counter()
    for i in range(0, len(rows), BATCH):
        chunk = rows[i : i + BATCH]
        driver.execute_query(query, {"rows": chunk, "n": len(chunk), **(extra or {})})
    return time.perf_counter() - started, server.cpu_seconds() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200_000, help="nodes, and relationships, per shape (default 200k)")
    parser.add_argument("--reps", type=int, default=2, help="runs of each shape (default 2)")
    parser.add_argument("--port", type=int, default=7797, help="the private Neo4j's Bolt port (default 7797)")
    args = parser.parse_args()
    n = args.nodes
    lists = [[i, i, random.randint(18, 90), random.random() * 100] for i in range(n)]
    maps = [{"id": r[1], "age": r[2], "score": r[3]} for r in lists]
    knows = [[i, random.randrange(n), random.randrange(n), random.randint(1990, 2024)] for i in range(n)]
    server = Server("neo4j", args.port)
    server.fresh()
    try:
        with server.driver() as driver:
            print(f"{n:,} elements per run, batches of {BATCH:,}, one session; per server CPU-second:", flush=True)
            for rep in range(args.reps):
                for i, (name, (query, kind)) in enumerate(NODE_SHAPES.items()):
                    label = f"N{i}r{rep}"
                    driver.execute_query(f"CREATE CONSTRAINT c_{label} FOR (n:{label}) REQUIRE n.id IS UNIQUE")
                    wall, cpu = load(server, driver, query.format(L=label), lists if kind == "list" else maps)
                    print(f"  nodes  {name:30s} run {rep + 1}: {n / cpu:>9,.0f}  (wall {wall:.1f}s, server CPU {cpu:.1f}s)", flush=True)
                label = f"After{rep}"
                wall, cpu = load(server, driver, NODE_SHAPES["SET n.a = r[i] (grafter)"][0].format(L=label), lists)
                cpu_before, started = server.cpu_seconds(), time.perf_counter()
                driver.execute_query(f"CREATE CONSTRAINT c_{label} FOR (n:{label}) REQUIRE n.id IS UNIQUE")
                driver.execute_query("CALL db.awaitIndexes(600)")
                wall, cpu = wall + time.perf_counter() - started, cpu + server.cpu_seconds() - cpu_before
                print(f"  nodes  {'constraint after the nodes':30s} run {rep + 1}: {n / cpu:>9,.0f}  (wall {wall:.1f}s, server CPU {cpu:.1f}s)", flush=True)
            driver.execute_query("CREATE CONSTRAINT p_id FOR (n:P) REQUIRE n.id IS UNIQUE")
            load(server, driver, "UNWIND $rows AS r CREATE (:P {id: r[1]})", lists)
            for rep in range(args.reps):
                for i, (name, query) in enumerate(REL_SHAPES.items()):
                    wall, cpu = load(server, driver, query.replace("{T}", f"R{i}r{rep}"), knows)
                    print(f"  rels   {name:30s} run {rep + 1}: {n / cpu:>9,.0f}  (wall {wall:.1f}s, server CPU {cpu:.1f}s)", flush=True)
    finally:
        server.script("stop")


if __name__ == "__main__":
    main()

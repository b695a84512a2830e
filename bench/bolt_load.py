#!/usr/bin/env python3
"""grafter into FalkorDB over Bolt, next to grafter over FalkorDB's native protocol (the anchor).

The same synthetic graph as bench/falkordb_load.py (N Person nodes, N KNOWS relationships),
loaded by `grafter run --no-verify` three ways into a private FalkorDB: through
`falkordb://?bulk=off` (native, the same Cypher statements: Bolt has no bulk insert),
through `bolt://` with the default batches (10,000 rows: bigger than
one 4 KB statement, so every batch is staged in the graph and applied by one statement),
and through `bolt://` with batches small enough to be one statement each. Each graph is
checked against the source. Prints rows/s and the ratio to the native target.

    FALKORDB_PORT=6390 FALKORDB_BOLT_PORT=7690 bench/bolt_load.py --port 6390 --bolt-port 7690
"""
import argparse
import json
import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent

sys.path.insert(0, str(BENCH))
from placement import GRAFTER, OUT, build, in_project_python  # noqa: E402

in_project_python("falkordb", __file__)
from falkordb_load import GRAFTER_TOML, GRAPH_PREFIX, Server, check, generate, rate, source_digest, timed  # noqa: E402


def run(server, database, name, url, expected, batch_size):
    """One `grafter run` into a new graph at `url`; its rows and seconds."""
    for graph in server.graphs(name):
        server.db.select_graph(graph).delete()
    work = database.parent / f"bolt-{name}"
    work.mkdir(exist_ok=True)
    for leftover in work.iterdir():
        leftover.unlink()
    config = GRAFTER_TOML.format(database=database, port=server.port, graph=GRAPH_PREFIX + name, options="")
    (work / "grafter.toml").write_text(config.replace(f"falkordb://127.0.0.1:{server.port}/{GRAPH_PREFIX + name}", url))
    command = [GRAFTER, "run", "-q", "--no-verify", "--format", "json"]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    out, wall, rss, _ = timed(command, work)
    summary = json.loads(out)
    if any(m["rejected"] for m in summary["mappings"]):
        sys.exit(f"grafter rejected rows: {out}")
    check(server.graph(name), expected, name)
    for graph in server.graphs(name):
        server.db.select_graph(graph).delete()
    return {"rows": sum(m["written"] for m in summary["mappings"]), "seconds": wall, "rss_mib": rss}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000, help="nodes, and relationships (default 100k each)")
    parser.add_argument("--port", type=int, default=6390, help="the private FalkorDB's port (default 6390)")
    parser.add_argument("--bolt-port", type=int, default=7690, help="its Bolt port, at most 32767 (default 7690)")
    parser.add_argument("--small-batch", type=int, default=30, help="rows per batch that fit one 4 KB statement (default 30)")
    args = parser.parse_args()

    os.environ["FALKORDB_BOLT_PORT"] = str(args.bolt_port)
    build("grafter-cli")
    server = Server(args.port)
    database = generate(OUT / f"falkordb-{args.nodes}", args.nodes)
    expected = source_digest(database)
    bolt = f"bolt://127.0.0.1:{args.bolt_port}?database={GRAPH_PREFIX}"
    contenders = [
        ("falkordb:// (native, ?bulk=off)", "native", f"falkordb://127.0.0.1:{args.port}/{GRAPH_PREFIX}native?bulk=off", None),
        ("bolt://, batches of 10,000 (staged)", "bolt_staged", bolt + "bolt_staged", None),
        (f"bolt://, batches of {args.small_batch}", "bolt_small", bolt + "bolt_small", args.small_batch),
    ]
    results = []
    for title, name, url, batch in contenders:
        print(f"{title} ...", flush=True)
        figures = run(server, database, name, url, expected, batch)
        print(f"  {figures['rows']:,} rows in {figures['seconds']:.1f}s, peak RSS {figures['rss_mib']:,.0f} MiB", flush=True)
        results.append((title, figures))

    anchor = rate(results[0][1]["rows"], results[0][1]["seconds"])
    print()
    print(f"{args.nodes:,} nodes and {args.nodes:,} relationships, FalkorDB on 127.0.0.1:{args.port} (Bolt {args.bolt_port})")
    print(f"{'':40} {'rows/s':>10}   ÷ native")
    for title, figures in results:
        rows = rate(figures["rows"], figures["seconds"])
        print(f"{title:40} {rows:>10,.0f}   {rows / anchor:.2f}")


if __name__ == "__main__":
    main()

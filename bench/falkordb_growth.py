#!/usr/bin/env python3
"""How a FalkorDB bulk load grows with the data: grafter against `falkordb-bulk-insert`.

The synthetic graph of bench/falkordb_load.py (N (:Person {id, name, age, score}) keyed by
id, N (:Person)-[:KNOWS {since}]->(:Person)) at each size of --nodes, loaded into a new
graph on a private server restarted before every load (--port), two ways:

  grafter   `grafter run -q --no-verify --no-snapshot` from the SQLite database (bulk: the
            graph is new), which ends once FalkorDB has built its key index;
  anchor    `falkordb-bulk-insert -i Person:id` on the CSV files, FalkorDB's own bulk
            loader, which exits with its index still building: it is waited for here
            (polling `CALL db.indexes()`), so both times run until the graph is ready.

Per load: the wall time until the graph is ready, the loader's CPU, and the server's CPU
(from /proc, the index build included). Each graph is checked against the source (counts
and sums of every property and both ends' ids) before its figures count. Then, per way,
the exponent of a log-log fit of wall time and of server CPU against the size: the
anchor's exponents say how much of any growth beyond linear is the server's own. A load
that fails (the anchor times out writing to the server at 4M on this VM) is reported and
left out of the fit.

Usage: bench/falkordb_growth.py [--nodes 1000000,4000000] [--port 6391]
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from placement import GRAFTER, OUT, ROOT, build, in_project_python  # noqa: E402

in_project_python("falkordb", __file__)
from falkordb import FalkorDB  # noqa: E402
from falkordb_load import GRAFTER_TOML, GRAPH_PREFIX, check, generate, source_digest  # noqa: E402
from sync_scaling import exponent  # noqa: E402

GRAPH = "growth"


class Server:
    """A private FalkorDB, restarted empty for each load."""

    def __init__(self, port):
        self.port = port
        self.env = dict(os.environ, FALKORDB_PORT=str(port), FALKORDB_BOLT_PORT=str(port + 1000))

    def restart(self):
        for command in ("stop", "start"):
            subprocess.run([ROOT / "scripts" / "falkordb", command], env=self.env, check=True, capture_output=True)
        pids = subprocess.run(["pgrep", "-f", f"redis-server 127.0.0.1:{self.port}"], capture_output=True, text=True)
        self.pid = int(pids.stdout.split()[0])
        self.db = FalkorDB(host="127.0.0.1", port=self.port)

    def cpu(self):
        """The server's CPU seconds so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def graph(self):
        return self.db.select_graph(GRAPH_PREFIX + GRAPH)

    def wait_for_indexes(self):
        """Returns once no index of the graph is still being built."""
        while True:
            rows = self.graph().ro_query("CALL db.indexes() YIELD status RETURN status").result_set
            if all(status == "OPERATIONAL" for (status,) in rows):
                return
            time.sleep(0.05)

    def stop(self):
        subprocess.run([ROOT / "scripts" / "falkordb", "stop"], env=self.env, check=True, capture_output=True)


def load(server, expected, command, cwd):
    """One load into a fresh server: (wall seconds until the graph is ready, loader CPU,
    server CPU), or the loader's last words when it failed."""
    server.restart()
    before = server.cpu()
    started = time.monotonic()
    children = os.times()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        return (result.stderr or result.stdout).strip().splitlines()[-1]
    server.wait_for_indexes()
    wall = time.monotonic() - started
    after = os.times()
    loader_cpu = (after.children_user - children.children_user) + (after.children_system - children.children_system)
    server_cpu = server.cpu() - before
    check(server.graph(), expected, " ".join(map(str, command[:2])))
    return wall, loader_cpu, server_cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", default="1000000,4000000", help="comma-separated sizes (nodes; as many relationships)")
    parser.add_argument("--port", type=int, default=6391)
    args = parser.parse_args()
    sizes = [int(n) for n in args.nodes.split(",")]

    build("grafter-cli")
    server = Server(args.port)
    loader = Path(sys.executable).parent / "falkordb-bulk-insert"
    figures = {"grafter": [], "falkordb-bulk-insert": []}
    for nodes in sizes:
        work = OUT / f"falkordb-{nodes}"
        database = generate(work, nodes)
        expected = source_digest(database)
        run_dir = work / "growth"
        run_dir.mkdir(exist_ok=True)
        for leftover in run_dir.iterdir():
            leftover.unlink()
        (run_dir / "grafter.toml").write_text(
            GRAFTER_TOML.format(database=database, port=args.port, graph=GRAPH_PREFIX + GRAPH, options="")
        )
        ways = {
            "grafter": [GRAFTER, "run", "-q", "--no-verify", "--no-snapshot"],
            "falkordb-bulk-insert": [
                loader, GRAPH_PREFIX + GRAPH, "-u", f"redis://127.0.0.1:{args.port}",
                "-n", work / "Person.csv", "-r", work / "KNOWS.csv", "-i", "Person:id",
            ],
        }  # fmt: skip
        for name, command in ways.items():
            loaded = load(server, expected, command, run_dir)
            if isinstance(loaded, str):
                print(f"{name} {nodes:,} nodes + {nodes:,} relationships: FAILED: {loaded}", flush=True)
                continue
            wall, loader_cpu, server_cpu = loaded
            figures[name].append((nodes, wall, server_cpu))
            print(
                f"{name} {nodes:,} nodes + {nodes:,} relationships: ready in {wall:.2f}s "
                f"({2 * nodes / wall:,.0f} records/s), its CPU {loader_cpu:.2f}s, the server's CPU {server_cpu:.2f}s",
                flush=True,
            )
    server.stop()

    print()
    if len(sizes) > 1:
        for name, points in figures.items():
            if len(points) < 2:
                continue
            size = [p[0] for p in points]
            print(
                f"{name}: exponent of wall time {exponent(size, [p[1] for p in points]):.2f}, "
                f"of the server's CPU {exponent(size, [p[2] for p in points]):.2f}"
            )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Resume benchmark: what a crash and a resume cost, and what checkpointing itself costs.

On the Placement example at about 1 million source rows (shared with embedded_load.py):
  1. one clean `grafter run`: wall time T_clean, rows R (all mappings' rows read);
  2. a run SIGKILLed once it has read half of R (watched through its own --metrics-addr
     endpoint), then resumed with `grafter run`:
     - rows processed by the killed attempt = rows its durable checkpoints cover;
     - rows processed by the resumed attempt = rows it read itself (from its summary);
     - ratio (both attempts) / R   (goal <= 1.01: nothing is done twice),
     - wall time (killed + resumed) / T_clean   (goal <= 1.1);
     - and the resumed graph's fingerprint must equal the clean run's.
  3. grafeo's batch API alone, with and without grafter's per-batch checkpoint update
     (bench/grafeo-anchor --checkpoints): the cost of checkpointing itself (goal <= 5%).

With --target falkordb, steps 1 and 2 load a private FalkorDB server instead (the project's
script starts it on --falkordb-port, and stops it at the end): a resumed run there reads back
what the killed one loaded in bulk and goes on in bulk. Step 3 is the embedded store's alone.

Usage: bench/resume.py [--rows N] [--repeat K] [--target grafeo|falkordb] [--falkordb-port P]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import socket
import time
import urllib.request

from placement import GRAFTER, RELEASE, ROOT, build, database as placement_database, fresh_dir

ANCHOR = RELEASE / "grafeo-anchor"


def grafter(work, *args):
    return subprocess.run([GRAFTER, *args], cwd=work, check=True, capture_output=True, text=True).stdout


def fingerprint(path):
    return json.loads(grafter(path, "fingerprint", "--format", "json"))["overall"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="anchor runs with and without checkpoints (default 5)")
    parser.add_argument("--target", choices=["grafeo", "falkordb"], default="grafeo")
    parser.add_argument("--falkordb-port", type=int, default=6391)
    args = parser.parse_args()
    build("grafter-cli", "grafeo-anchor")
    work, database = placement_database(args.rows)

    falkordb = dict(os.environ, FALKORDB_PORT=str(args.falkordb_port), FALKORDB_BOLT_PORT=str(args.falkordb_port + 1000))
    if args.target == "falkordb":
        # A fresh server: nothing left from earlier runs competes with the loads.
        for command in ("stop", "start"):
            subprocess.run([ROOT / "scripts" / "falkordb", command], env=falkordb, check=True, capture_output=True)

    def project(name):
        path = fresh_dir(work, name, database)
        if args.target == "falkordb":
            with open(path / "grafter.toml", "a") as config:
                config.write(f'\n[target]\nurl = "falkordb://127.0.0.1:{args.falkordb_port}/grafter_bench_{name.replace("-", "_")}"\n')
        return path

    clean = project("resume-clean")
    started = time.monotonic()
    summary = json.loads(grafter(clean, "run", "-q", "--no-verify", "--format", "json"))
    t_clean = time.monotonic() - started
    rows = sum(m["read"] for m in summary["mappings"])
    checkpoint_seconds = sum(m["checkpoint_seconds"] for m in summary["mappings"])
    write_seconds = sum(m["write_seconds"] for m in summary["mappings"])
    print(f"clean run:    {rows:,} rows in {t_clean:.2f}s")

    crashed = project("resume-crashed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    process = subprocess.Popen(
        [GRAFTER, "run", "-q", "--no-verify", "--metrics-addr", f"127.0.0.1:{port}"], cwd=crashed, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while process.poll() is None:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
            read = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("grafter_rows_read_total{"))
            if read >= rows / 2:
                break
        except OSError:
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    t_killed = time.monotonic() - started
    checkpoints = json.loads(grafter(
        crashed, "query", "--format", "json",
        "MATCH (c:_GrafterCheckpoint) RETURN c.mapping AS mapping, c.partition AS partition, c.batches AS batches, c.read AS read",
    ))
    # A FalkorDB bulk batch leaves a checkpoint node of its own: the newest of each
    # partition (the most batches) is the one that counts, as grafter reads them.
    newest = {}
    for c in checkpoints:
        place = (c["mapping"], c["partition"])
        if place not in newest or c["batches"] > newest[place]["batches"]:
            newest[place] = c
    first = sum(c["read"] for c in newest.values())
    started = time.monotonic()
    resumed = json.loads(grafter(crashed, "run", "-q", "--no-verify", "--format", "json"))
    t_resumed = time.monotonic() - started
    second = sum(m["read"] - (m["resumed_at"] or 0) for m in resumed["mappings"] if m["status"] == "done")
    same = fingerprint(crashed) == fingerprint(clean)
    print(f"killed run:   SIGKILL after {t_killed:.2f}s; its durable checkpoints cover {first:,} rows")
    print(f"resumed run:  read {second:,} more rows in {t_resumed:.2f}s (attempt {resumed['attempt']}); fingerprint equals clean: {same}")
    print(f"rows processed by both attempts / source rows   {(first + second) / rows:.4f}   (goal <= 1.01)")
    print(f"wall time killed + resumed / clean              {(t_killed + t_resumed) / t_clean:.3f}   (goal <= 1.10)")
    if args.target == "falkordb":
        subprocess.run([ROOT / "scripts" / "falkordb", "stop"], env=falkordb, check=True, capture_output=True)
    if not same:
        raise SystemExit("the resumed graph differs from the clean one")
    if args.target != "grafeo":
        return

    plain, with_checkpoints = [], []
    for attempt in range(args.repeat):
        # Alternate which goes first: the machine's state drifts between runs.
        order = [([], plain), (["--checkpoints"], with_checkpoints)]
        for flag, results in order if attempt % 2 == 0 else reversed(order):
            out = subprocess.run([ANCHOR, "grafter.toml", "anchor.grafeo", *flag], cwd=clean, check=True, capture_output=True, text=True).stdout
            result = json.loads(out)
            results.append(result["node_seconds"] + result["relationship_seconds"])
    base, checked = statistics.median(plain), statistics.median(with_checkpoints)
    print(
        f"checkpoints, timed inside grafter's transactions: {checkpoint_seconds:.3f}s of {write_seconds:.2f}s writing "
        f"= {100 * checkpoint_seconds / write_seconds:.2f}% of the store's time, {100 * checkpoint_seconds / t_clean:.2f}% of the run   (goal <= 5%)"
    )
    spread = lambda xs: f"{min(xs):.2f}-{max(xs):.2f}s"
    print(
        f"grafeo batch API alone, median of {args.repeat}: {base:.2f}s without checkpoints ({spread(plain)}), "
        f"{checked:.2f}s with grafter's per-batch checkpoint ({spread(with_checkpoints)}): {100 * (checked - base) / base:+.1f}% "
        "(run-to-run spread is wider than this difference)"
    )


if __name__ == "__main__":
    main()

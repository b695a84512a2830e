#!/usr/bin/env python3
"""Incremental sync benchmark: `grafter sync --follow` keeping up with a live PostgreSQL.

A shop in a PostgreSQL database of its own (on the server every machine runs):
`item` (100,000 rows, followed by its `updated_at` cursor, kept by a trigger) and
`ledger` (50,000 rows, followed through a change-log table its triggers write, hard
deletes included). After `grafter run` loads it:

  1. Steady state. `pgbench` (PostgreSQL's own load generator) writes at a fixed rate —
     1,000 transactions a second by default, one change each: updates, inserts and deletes
     across both tables — while `grafter sync --follow --interval 1s` runs beside it.
     Reported from sync's own pass lines after a warm-up: the lag (time since the last
     complete pass began: everything committed before is in the graph), median and 95th
     percentile; changes applied per second against changes written per second (the
     anchor: the writer's rate as pgbench measured it; 1.0 means sync keeps up); and
     sync's peak RSS.
  2. Catching up. With sync stopped, pgbench writes a backlog as fast as it can; then one
     `grafter sync` pass applies it. Reported: changes applied per second, and that rate
     against the 1,000/s writer (the headroom).
  3. The graph is verified against the source (`grafter sync --until-caught-up`, whose
     verification must pass).

Usage: bench/sync.py [--rate 1000] [--seconds 60] [--backlog 200000]
"""
import argparse
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from placement import GRAFTER, build

DATABASE = "grafter_bench_sync"
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]

SCHEMA_TEMPLATE = """
DROP TABLE IF EXISTS item, ledger, change_log CASCADE;
DROP FUNCTION IF EXISTS touch, log_change CASCADE;
CREATE TABLE item (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL,
  stock int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX item_updated_at ON item (updated_at, id);
CREATE TABLE ledger (id bigint PRIMARY KEY, item_id bigint NOT NULL, amount numeric(12,2) NOT NULL, note text);
CREATE TABLE change_log (id bigserial PRIMARY KEY, table_name text NOT NULL, operation text NOT NULL,
  record_key text NOT NULL, changed_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX change_log_changed_at ON change_log (changed_at, id);
CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER item_touch BEFORE UPDATE ON item FOR EACH ROW EXECUTE FUNCTION touch();
CREATE FUNCTION log_change() RETURNS trigger AS $$ BEGIN
  INSERT INTO change_log (table_name, operation, record_key)
    VALUES (TG_TABLE_NAME, TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text);
  RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_log AFTER INSERT OR UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION log_change();
INSERT INTO item (id, name, price, stock) SELECT g, 'item ' || g, (g % 1000) / 10.0, g % 50 FROM generate_series(1, {items}) g;
INSERT INTO ledger (id, item_id, amount, note) SELECT g, 1 + g % {items}, g % 977, 'entry ' || g FROM generate_series(1, {entries}) g;
"""


def schema(items=100_000, entries=50_000):
    """The shop's tables and triggers, with `items` items and `entries` ledger entries."""
    return SCHEMA_TEMPLATE.replace("{items}", str(items)).replace("{entries}", str(entries))

CONFIG = """[source]
url = "postgres://postgres@127.0.0.1:5432/{database}"

[run]
batch_size = 5000

[sync]
overlap = "3s"

[[nodes]]
label = "Item"
table = "item"
key = "id"
exclude = ["updated_at"]
cursor = "updated_at"

[[nodes]]
label = "Entry"
table = "ledger"
key = "id"
exclude = ["item_id"]
change_log = "change_log"

[[relationships]]
name = "for_item"
type = "FOR"
table = "ledger"
start = {{ label = "Entry", key = "id" }}
end = {{ label = "Item", key = "item_id" }}
change_log = "change_log"
"""

def writers(items=100_000, entries=50_000):
    """pgbench scripts, one change per transaction, picked by weight (new keys lie above the
    generated ones)."""
    fresh = f"random({10 * (items + entries)}, {10 * (items + entries) + 1_000_000_000})"
    return {
        "item_update.sql@6": f"\\set id random(1, {items})\nUPDATE item SET stock = stock + 1 WHERE id = :id;\n",
        "item_insert.sql@1": f"\\set id {fresh}\n"
        "INSERT INTO item (id, name, price, stock) VALUES (:id, 'new ' || :id, 1.5, 1) ON CONFLICT DO NOTHING;\n",
        "ledger_update.sql@2": f"\\set id random(1, {entries})\nUPDATE ledger SET amount = amount + 1 WHERE id = :id;\n",
        "ledger_insert.sql@1": f"\\set id {fresh}\n\\set item random(1, {items})\n"
        "INSERT INTO ledger (id, item_id, amount, note) VALUES (:id, :item, 9.99, 'new') ON CONFLICT DO NOTHING;\n",
        "ledger_delete.sql@1": f"\\set id random(1, {entries})\nDELETE FROM ledger WHERE id = :id;\n",
    }


WRITERS = writers()

PASS_LINE = re.compile(
    r"^pass (\d+): (\d+) changes read, (\d+) applied .* in ([\d.]+)s; lag ([\d.]+|unknown)s?"
)


# Quiet the server's notices (DROP … IF EXISTS of what is not there yet).
os.environ["PGOPTIONS"] = "-c client_min_messages=warning"


def psql(sql, database=DATABASE):
    subprocess.run(PSQL + ["-d", database], input=sql, text=True, check=True, stdout=subprocess.DEVNULL)


def pgbench(scripts_dir, rate, seconds=None, transactions=None, clients=4):
    """Runs the writers; returns (transactions, tps) as pgbench reports them."""
    args = ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-c", str(clients), "-j", "2"]
    if rate:
        args += ["-R", str(rate)]
    if seconds:
        args += ["-T", str(seconds)]
    if transactions:
        args += ["-t", str(transactions // clients)]
    for name in WRITERS:
        args += ["-f", str(scripts_dir / name.split("@")[0]) + "@" + name.split("@")[1]]
    result = subprocess.run(args + [DATABASE], capture_output=True, text=True, check=True)
    done = int(re.search(r"number of transactions actually processed: (\d+)", result.stdout).group(1))
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))
    return done, tps


def peak_rss_mib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000, help="writer transactions per second (default 1000)")
    parser.add_argument("--seconds", type=int, default=60, help="steady-state duration (default 60)")
    parser.add_argument("--backlog", type=int, default=200_000, help="changes written for the catch-up (default 200k)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of passes left out of the figures")
    args = parser.parse_args()

    build("grafter-cli")
    subprocess.run(PSQL + ["-d", "test", "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True)
    subprocess.run(PSQL + ["-d", "test", "-c", f"CREATE DATABASE {DATABASE}"], check=True)
    psql(schema())

    with tempfile.TemporaryDirectory(prefix="grafter-bench-sync-") as tmp:
        work = Path(tmp)
        (work / "grafter.toml").write_text(CONFIG.format(database=DATABASE))
        scripts = work / "writers"
        scripts.mkdir()
        for name, body in WRITERS.items():
            (scripts / name.split("@")[0]).write_text(body)
        started = time.monotonic()
        subprocess.run([GRAFTER, "run", "-q", "--no-verify"], cwd=work, check=True, capture_output=True)
        print(f"loaded 100,000 items and 50,000 ledger entries in {time.monotonic() - started:.1f}s", flush=True)

        # 1. Steady state.
        follower = subprocess.Popen(
            [GRAFTER, "sync", "-q", "--follow", "--interval", "1s"],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)
        written, tps = pgbench(scripts, args.rate, seconds=args.seconds)
        time.sleep(3)
        rss = peak_rss_mib(follower.pid)
        follower.send_signal(signal.SIGINT)
        _, log = follower.communicate(timeout=120)
        passes = []
        clock = 0.0
        for line in log.splitlines():
            match = PASS_LINE.match(line)
            if match:
                seconds = float(match.group(4))
                clock += seconds
                lag = float(match.group(5)) if match.group(5) != "unknown" else None
                passes.append({"read": int(match.group(2)), "applied": int(match.group(3)), "seconds": seconds, "lag": lag})
        if not passes:
            sys.exit(f"no pass lines from grafter sync:\n{log}")
        # Passes after the warm-up, while the writer ran (pass lines come about a second apart).
        steady = passes[int(args.warmup):-3] or passes
        lags = sorted(p["lag"] for p in steady if p["lag"] is not None)
        applied = sum(p["applied"] for p in passes)
        p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
        print(
            f"steady state: pgbench wrote {written:,} source changes at {tps:,.0f}/s for {args.seconds}s; sync ran "
            f"{len(passes)} passes and applied {applied:,} graph changes ({applied / args.seconds:,.0f}/s: a ledger row's "
            f"change is its node's and its relationship's; two changes of one row between passes are applied once)",
            flush=True,
        )
        interval = 1.0
        print(
            f"lag at the end of each of {len(lags)} steady passes: median {statistics.median(lags):.2f}s, p95 {p95:.2f}s, "
            f"max {lags[-1]:.2f}s; a change waits at most about lag + interval ({lags[-1] + interval:.1f}s) to be in the "
            f"graph; peak RSS of sync {rss:.0f} MiB",
            flush=True,
        )

        # 2. Catching up a backlog.
        written, tps = pgbench(scripts, None, transactions=args.backlog)
        started = time.monotonic()
        out = subprocess.run([GRAFTER, "sync", "-q", "--format", "json"], cwd=work, capture_output=True, text=True, check=True)
        seconds = time.monotonic() - started
        summary = json.loads(out.stdout)
        read = sum(m["session"]["read"] for m in summary["mappings"])
        applied = sum(m["session"]["created"] + m["session"]["updated"] + m["session"]["deleted"] for m in summary["mappings"])
        print(
            f"catch-up: {written:,} changes written at {tps:,.0f}/s with sync stopped; one pass read {read:,} and applied "
            f"{applied:,} in {seconds:.1f}s = {applied / seconds:,.0f} changes/s, {applied / seconds / args.rate:.1f}x "
            f"the {args.rate:,}/s writer",
            flush=True,
        )

        # 3. Verified.
        started = time.monotonic()
        out = subprocess.run(
            [GRAFTER, "sync", "-q", "--until-caught-up", "--timeout", "10m"], cwd=work, capture_output=True, text=True
        )
        if out.returncode != 0:
            sys.exit(f"sync --until-caught-up failed:\n{out.stdout}\n{out.stderr}")
        print(f"caught up and verified in {time.monotonic() - started:.1f}s: {out.stdout.splitlines()[0]}")
    subprocess.run(PSQL + ["-d", "test", "-c", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"], check=True)


if __name__ == "__main__":
    main()

"""What grafter wrote, read back by the servers' official Python clients (the `neo4j` driver
for Bolt servers, `falkordb` for FalkorDB's own protocol), so that a bug shared by grafter's
writer and its own reader cannot hide. Also empties a Bolt database for a test that needs it
to itself.

    independent_reader.py dump URL LABEL     every node labelled LABEL, its properties typed, as JSON
    independent_reader.py count URL CYPHER   the one integer CYPHER returns
    independent_reader.py rows URL CYPHER    every row CYPHER returns, each a list of typed values,
                                             sorted, as JSON
    independent_reader.py wipe URL           deletes every node, constraint and index (Bolt only)

URL: bolt://USER:PASSWORD@HOST:PORT[?database=NAME], neo4j://… likewise, or
falkordb://HOST:PORT/GRAPH. Typed values: ["int", "digits"], ["float", repr], ["str", s],
["bool", b], ["null"], ["list", [...]], ["bytes", hex], ["date", iso], ["time", iso],
["localdatetime", iso], ["datetime", iso], ["duration", months, days, seconds, nanoseconds],
["other", repr].
"""
import json
import logging
import os
import sys
import urllib.parse

logging.getLogger("neo4j").setLevel(logging.ERROR)


def typed(v):
    import neo4j.time

    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, int):
        return ["int", str(v)]
    if isinstance(v, float):
        return ["float", repr(v)]
    if isinstance(v, str):
        return ["str", v]
    if v is None:
        return ["null"]
    if isinstance(v, (bytes, bytearray)):
        return ["bytes", bytes(v).hex()]
    if isinstance(v, list):
        return ["list", [typed(x) for x in v]]
    if isinstance(v, neo4j.time.Duration):
        return ["duration", v.months, v.days, v.seconds, v.nanoseconds]
    if isinstance(v, neo4j.time.Date):
        return ["date", v.iso_format()]
    if isinstance(v, neo4j.time.Time):
        return ["time", v.iso_format()]
    if isinstance(v, neo4j.time.DateTime):
        return ["datetime" if v.tzinfo is not None else "localdatetime", v.iso_format()]
    return ["other", repr(v)]


def bolt(url):
    from neo4j import GraphDatabase

    u = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(u.query))
    auth = (urllib.parse.unquote(u.username or "neo4j"), urllib.parse.unquote(u.password or ""))
    address = f"{u.scheme}://{u.hostname}:{u.port or 7687}"
    driver = GraphDatabase.driver(address, auth=auth if u.password else None, connection_timeout=15)
    return driver, query.get("database")


def run(url, cypher, params=None):
    if url.startswith("falkordb://"):
        import falkordb

        u = urllib.parse.urlsplit(url)
        db = falkordb.FalkorDB(host=u.hostname, port=u.port or 6379)
        graph = db.select_graph(u.path.lstrip("/"))
        return [list(row) for row in graph.ro_query(cypher, params or {}).result_set]
    driver, database = bolt(url)
    with driver:
        records, _, _ = driver.execute_query(cypher, params or {}, database_=database)
        return [list(r.values()) for r in records]


def main():
    command, url = sys.argv[1], sys.argv[2]
    if command == "dump":
        label = sys.argv[3].replace("`", "``")
        rows = run(url, f"MATCH (n:`{label}`) RETURN properties(n)")
        out = sorted(({k: typed(v) for k, v in row[0].items() if not k.startswith("_grafter")} for row in rows),
                     key=lambda props: json.dumps(props, sort_keys=True))
        print(json.dumps(out, ensure_ascii=False, sort_keys=True))
    elif command == "rows":
        rows = [[typed(v) for v in row] for row in run(url, sys.argv[3])]
        print(json.dumps(sorted(rows, key=lambda row: json.dumps(row, sort_keys=True)), ensure_ascii=False))
    elif command == "count":
        rows = run(url, sys.argv[3])
        print(rows[0][0])
    elif command == "wipe":
        driver, database = bolt(url)
        with driver:
            def q(cypher):
                records, _, _ = driver.execute_query(cypher, database_=database)
                return records
            while q("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS deleted")[0]["deleted"] > 0:
                pass
            for record in q("SHOW CONSTRAINTS YIELD name RETURN name"):
                q(f"DROP CONSTRAINT `{record['name']}` IF EXISTS")
            for record in q("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name"):
                q(f"DROP INDEX `{record['name']}` IF EXISTS")
    else:
        sys.exit(f"unknown command {command}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
    # FalkorDB's Bolt port leaves the next request unanswered after a GOODBYE: no clean close.
    os._exit(0)

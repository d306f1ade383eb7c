"""Anchor for quire-bench's `remote` suite: DuckDB querying the same Parquet files where they lie.

Usage: remote.py GLOB REPEATS QUERY...
A view `t` over read_parquet(GLOB); each QUERY (with `{t}` for the view) best of REPEATS. Prints
the total of the best times and each answer (every value as text) as JSON.
"""
import json
import sys
import time

import duckdb

glob, repeats, queries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
con = duckdb.connect()
con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{glob}')")
total, answers = 0.0, []
for sql in queries:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        rows = con.execute(sql.replace("{t}", "t")).fetchall()
        best = min(best, (time.perf_counter() - start) * 1000.0)
    total += best
    answers.append(len(rows))
print(json.dumps({"ms": total, "rows": answers, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}))

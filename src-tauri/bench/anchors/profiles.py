"""Anchor for quire-bench's `profiles` suite: DuckDB's SUMMARIZE over the same table.

Usage: profiles.py PARQUET REPEATS
Loads the file into a DuckDB table (not timed), then times `SUMMARIZE t` (min, max, approximate
distinct count, mean, standard deviation, quartiles, count and null share of every column).
Prints best-of-REPEATS milliseconds as JSON.
"""
import json
import sys
import time

import duckdb

path, repeats = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
times = []
for _ in range(repeats):
    start = time.perf_counter()
    rows = con.execute("SUMMARIZE t").fetchall()
    times.append((time.perf_counter() - start) * 1000.0)
print(json.dumps({"duckdb_summarize_ms": min(times), "columns": len(rows), "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}))

"""Anchor for quire-bench's `bigdata` suite, CSV half: DuckDB converting the same CSV to Parquet.

Usage: bigcsv.py CSV OUT CHECK_SQL MEMORY_MB
Times `COPY (SELECT * FROM read_csv(CSV)) TO OUT (FORMAT parquet)` (types detected, as Quire
detects them), then runs CHECK_SQL with `bigcsv` a view over the Parquet file written, and
prints the time and the answer's one row (every value as text) as JSON.
"""
import json
import sys
import time

import duckdb

csv, out, check, memory_mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
con = duckdb.connect()
con.execute(f"SET memory_limit = '{memory_mb}MB'")
start = time.perf_counter()
con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)")
ms = (time.perf_counter() - start) * 1000.0
con.execute(f"CREATE VIEW bigcsv AS SELECT * FROM read_parquet('{out}')")
row = con.execute(check).fetchone()
print(json.dumps({"ms": ms, "answer": ["" if v is None else str(v) for v in row]}))

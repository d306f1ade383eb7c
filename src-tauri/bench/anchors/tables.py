"""Anchors for quire-bench's `tables` suite: DuckDB and pyarrow on the same files, in the same run.

Usage: tables.py CSV PARQUET REPEATS
Prints one JSON object of best-of-REPEATS timings in milliseconds, measured inside Python so
interpreter start-up is not counted.
"""
import json
import sys
import time

import duckdb
import pyarrow.csv
import pyarrow.parquet

csv_path, parquet_path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])


def best(fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return min(times)


def duckdb_import_csv():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv_path}', header = true)")
    con.close()


con = duckdb.connect()
con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{parquet_path}')")
GROUP_BY = "SELECT city, count(*) AS n, sum(amount) AS total FROM t WHERE amount > 1000 GROUP BY city ORDER BY city"

print(json.dumps({
    "duckdb_import_csv_ms": best(duckdb_import_csv),
    "pyarrow_read_csv_ms": best(lambda: pyarrow.csv.read_csv(csv_path)),
    "pyarrow_read_parquet_ms": best(lambda: pyarrow.parquet.read_table(parquet_path)),
    "duckdb_groupby_ms": best(lambda: con.execute(GROUP_BY).fetchall()),
    "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
}))

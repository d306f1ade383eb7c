"""Anchor for quire-bench's `bigdata` suite: DuckDB querying the same Parquet files where they lie.

Usage: bigdata.py BIG DIM REPEATS MEMORY_MB
Views `big` and `dim` over read_parquet of the files (nothing loaded first, as Quire links them),
DuckDB's memory limit set to the same budget. Runs the suite's five queries, best of REPEATS
each, and prints their times and answers (every value as text) as JSON.
"""
import json
import sys
import time

import duckdb

big, dim, repeats, memory_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
QUERIES = [
    "SELECT count(*) AS n FROM big",
    "SELECT store, count(*) AS n, round(avg(price), 6) AS p FROM big GROUP BY store ORDER BY store",
    "SELECT count(*) AS n, round(sum(price), 2) AS s, count(discount) AS d FROM big WHERE id >= 50000000 AND id < 51000000",
    "SELECT id, price FROM big ORDER BY price DESC, id LIMIT 100",
    "SELECT d.segment, count(*) AS n, round(sum(b.price), 2) AS s FROM big b JOIN dim d ON b.customer = d.customer GROUP BY d.segment ORDER BY d.segment",
]
con = duckdb.connect()
con.execute(f"SET memory_limit = '{memory_mb}MB'")
con.execute(f"CREATE VIEW big AS SELECT * FROM read_parquet('{big}')")
con.execute(f"CREATE VIEW dim AS SELECT * FROM read_parquet('{dim}')")
times, answers = [], []
for sql in QUERIES:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        rows = con.execute(sql).fetchall()
        best = min(best, (time.perf_counter() - start) * 1000.0)
    times.append(best)
    answers.append([["" if v is None else str(v) for v in row] for row in rows])
print(json.dumps({"ms": times, "answers": answers, "threads": con.execute("SELECT current_setting('threads')").fetchone()[0]}))

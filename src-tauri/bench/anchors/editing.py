"""Anchor for quire-bench's `editing` suite: DuckDB diffing the same two table versions.

Usage: editing.py OLD_PARQUET NEW_PARQUET REPEATS
Loads both versions (with their row ids) into DuckDB tables (not timed), then times the diff
the way SQL does it: a full outer join on the row id, comparing every column, counting added,
removed and changed rows. Prints best-of-REPEATS milliseconds and the counts as JSON.
"""
import json
import sys
import time

import duckdb

old_path, new_path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute(f"CREATE TABLE a AS SELECT * FROM read_parquet('{old_path}')")
con.execute(f"CREATE TABLE b AS SELECT * FROM read_parquet('{new_path}')")
columns = [r[0] for r in con.execute("DESCRIBE a").fetchall() if r[0] != "__quire_row_id"]
differs = " OR ".join(f'a."{c}" IS DISTINCT FROM b."{c}"' for c in columns)
query = f"""
SELECT
  count(*) FILTER (WHERE a.__quire_row_id IS NULL) AS added,
  count(*) FILTER (WHERE b.__quire_row_id IS NULL) AS removed,
  count(*) FILTER (WHERE a.__quire_row_id IS NOT NULL AND b.__quire_row_id IS NOT NULL AND ({differs})) AS changed
FROM a FULL OUTER JOIN b ON a.__quire_row_id = b.__quire_row_id
"""
times = []
for _ in range(repeats):
    start = time.perf_counter()
    added, removed, changed = con.execute(query).fetchone()
    times.append((time.perf_counter() - start) * 1000.0)
print(json.dumps({"duckdb_diff_ms": min(times), "added": added, "removed": removed, "changed": changed}))

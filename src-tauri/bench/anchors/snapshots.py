"""Anchor for quire-bench's `snapshots` suite: pyarrow.parquet.write_table on the same data.

Usage: snapshots.py ARROW_FILE OUT_DIR REPEATS
Reads the table from an Arrow IPC file (not timed), then writes it as Parquet with snappy and
with zstd, each followed by an fsync of the file (Quire's snapshot includes its fsync and
rename), and prints best-of-REPEATS milliseconds per codec as one JSON object.
"""
import json
import os
import sys
import time

import pyarrow.ipc
import pyarrow.parquet

arrow_path, out_dir, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
table = pyarrow.ipc.open_file(arrow_path).read_all()


def write(codec):
    path = os.path.join(out_dir, f"pyarrow-{codec}.parquet")
    pyarrow.parquet.write_table(table, path, compression=codec)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def best(codec):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        write(codec)
        times.append((time.perf_counter() - start) * 1000.0)
    return min(times)


result = {"pyarrow_snappy_ms": best("snappy"), "pyarrow_zstd_ms": best("zstd")}
result["pyarrow_zstd_bytes"] = os.path.getsize(os.path.join(out_dir, "pyarrow-zstd.parquet"))
print(json.dumps(result))

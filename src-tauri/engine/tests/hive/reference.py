"""pyarrow's side of the hive test (tests/hive.rs): data nobody here wrote, partitioned by pyarrow.

Usage: reference.py OUT_DIR

Reads palmerpenguins' penguins.csv where the package installed it (without importing the
package), writes it as a hive-partitioned Parquet dataset (island=…/year=…/) into
OUT_DIR/penguins with pyarrow's own writer, then reads the dataset back with pyarrow's hive
partitioning and answers the test's queries. Each answer goes to OUT_DIR/answers.json as rows
of text cells, the way the Rust side prints Quire's.

Then it makes the changes the Rust side makes to the linked dataset (which Quire keeps beside
the files), by content, with pyarrow: Dream's 2009 penguins weigh 5000 g, the penguins whose
sex is unknown are deleted, only those of at least 3500 g are kept (unknown mass goes, as in
SQL's WHERE), and duplicates on species, island, year and sex are removed.

It also answers for the files of 2008 and 2009 only, chosen by a glob, as Quire links them
with a pattern.
"""

import glob
import importlib.util
import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.dataset as ds


def main(out):
    spec = importlib.util.find_spec("palmerpenguins")
    data = os.path.join(list(spec.submodule_search_locations)[0], "data", "penguins.csv")
    table = pcsv.read_csv(data, convert_options=pcsv.ConvertOptions(null_values=["NA"]))
    folder = os.path.join(out, "penguins")
    ds.write_dataset(
        table,
        folder,
        format="parquet",
        partitioning=["island", "year"],
        partitioning_flavor="hive",
        existing_data_behavior="overwrite_or_ignore",
    )
    read = ds.dataset(folder, format="parquet", partitioning="hive").to_table()

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return repr(round(v, 6))
        return str(v)

    def rows(t):
        cols = [t.column(i).to_pylist() for i in range(t.num_columns)]
        return sorted(" | ".join(cell(c[r]) for c in cols) for r in range(t.num_rows))

    answers = {}
    answers["count"] = [str(read.num_rows)]
    by = read.group_by(["island", "year"]).aggregate([([], "count_all")])
    answers["by_island_year"] = rows(by.select(["island", "year", "count_all"]))
    in_2008 = read.filter(pc.equal(read["year"], 2008))
    mass = in_2008.group_by(["species"]).aggregate([("body_mass_g", "sum")])
    answers["mass_2008"] = rows(mass.select(["species", "body_mass_g_sum"]))
    answers["columns"] = [f.name for f in read.schema]
    # The grid's sorted view: newest year first, then lightest first. The grid puts a missing
    # value last either way (as pandas, DuckDB and spreadsheets do), so unknown mass comes last
    # in each year. Only the sort's own columns (rows that tie on both may come in any order).
    order = pc.sort_indices(
        read,
        sort_keys=[("year", "descending"), ("body_mass_g", "ascending")],
        null_placement="at_end",
    )
    by_year_mass = read.take(order).select(["year", "body_mass_g"])
    answers["sorted_year_mass"] = [
        " | ".join(cell(c) for c in row.values())
        for row in by_year_mass.to_pylist()
    ]
    # Only the files a shell glob matches below the folder (Python's glob: * and [..] stay
    # inside one folder name), read with the same hive partitioning.
    matched = sorted(glob.glob(os.path.join(folder, "island=*", "year=200[89]", "*.parquet")))
    some = ds.dataset(
        matched, format="parquet", partitioning="hive", partition_base_dir=folder
    ).to_table()
    by = some.group_by(["island", "year"]).aggregate([("body_mass_g", "sum"), ([], "count_all")])
    answers["glob_by_island_year"] = rows(by.select(["island", "year", "body_mass_g_sum", "count_all"]))

    t = read
    dream_2009 = pc.and_(pc.equal(t["island"], "Dream"), pc.equal(t["year"], 2009))
    mass = t["body_mass_g"]
    mass = pc.if_else(dream_2009, pa.scalar(5000, mass.type), mass)
    t = t.set_column(t.schema.get_field_index("body_mass_g"), "body_mass_g", mass)
    # The CSV's text columns keep "NA" as text (pyarrow reads only other types' NA as null).
    t = t.filter(pc.and_(pc.is_valid(t["sex"]), pc.not_equal(t["sex"], "NA")))
    t = t.filter(pc.greater_equal(t["body_mass_g"], 3500))
    answers["edited_count"] = [str(t.num_rows)]
    by = t.group_by(["species", "island", "year"]).aggregate(
        [([], "count_all"), ("body_mass_g", "sum")]
    )
    answers["edited_by_group"] = rows(
        by.select(["species", "island", "year", "count_all", "body_mass_g_sum"])
    )
    # One row per (species, island, year, sex) is left: which one does not change the counts.
    distinct = t.group_by(["species", "island", "year", "sex"]).aggregate([])
    by = distinct.group_by(["species", "island", "year"]).aggregate([([], "count_all")])
    answers["deduped_by_group"] = rows(by.select(["species", "island", "year", "count_all"]))
    with open(os.path.join(out, "answers.json"), "w") as f:
        json.dump(answers, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])

"""pandas' side of the CSV folder test (tests/csv_folder.rs): data nobody here wrote, exported
the way different tools export it, one file per year.

Usage: reference.py OUT_DIR

Reads palmerpenguins' penguins.csv where the package installed it (without importing the
package) with pandas (`NA` is missing), and writes one file per year into OUT_DIR/exports:

- 2007.csv: as R writes it (comma, `NA` for a gap);
- 2008.csv.gz: as a European spreadsheet exports it (`;`, decimal commas, empty gaps), gzipped;
- 2009.tsv: tab-separated with `NA` gaps, plus one line with a field too many, which the user
  chooses to skip (it is not one of the table's rows).

Then answers the test's questions from the table pandas read (not from the exports), as rows
of text cells the way the Rust side prints Quire's, into OUT_DIR/answers.json.
"""

import gzip
import importlib.util
import json
import os
import sys

import pandas as pd


def main(out):
    spec = importlib.util.find_spec("palmerpenguins")
    data = os.path.join(list(spec.submodule_search_locations)[0], "data", "penguins.csv")
    table = pd.read_csv(data)
    folder = os.path.join(out, "exports")
    os.makedirs(folder, exist_ok=True)
    by_year = {year: rows for year, rows in table.groupby("year")}
    by_year[2007].to_csv(os.path.join(folder, "2007.csv"), index=False, na_rep="NA")
    with gzip.open(os.path.join(folder, "2008.csv.gz"), "wt", newline="") as f:
        by_year[2008].to_csv(f, index=False, sep=";", decimal=",", na_rep="")
    text = by_year[2009].to_csv(index=False, sep="\t", na_rep="NA")
    lines = text.splitlines(keepends=True)
    # A line with a field too many, past the first rows.
    lines.insert(60, "Gentoo\tBiscoe\t45.1\t14.5\t215.0\t5000.0\tfemale\t2009\textra\n")
    with open(os.path.join(folder, "2009.tsv"), "w", newline="") as f:
        f.write("".join(lines))

    def cell(v):
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return ""
        if isinstance(v, float):
            return repr(round(v, 6))
        return str(v)

    def rows(frame):
        return sorted(
            " | ".join(cell(v) for v in row) for row in frame.itertuples(index=False, name=None)
        )

    answers = {
        "columns": list(table.columns),
        "count": [str(len(table))],
        # Line 61 of 2009.tsv (the header is line 1).
        "skipped_line": [str(61)],
    }
    by = table.groupby(["species", "year"], dropna=False)
    answers["by_species_year"] = rows(
        pd.DataFrame(
            {
                "n": by.size(),
                "mass": by["body_mass_g"].sum(min_count=1),
                "bill": by["bill_length_mm"].mean().round(6),
                "flipper_gaps": by["flipper_length_mm"].apply(lambda s: int(s.isna().sum())),
            }
        )
        .reset_index()[["species", "year", "n", "mass", "bill", "flipper_gaps"]]
        .astype({"n": "int64", "flipper_gaps": "int64"})
        .astype(object)
    )
    answers["sex_by_island"] = rows(
        table.assign(sex=table["sex"].fillna("unknown"))
        .groupby(["island", "sex"])
        .size()
        .reset_index()
        .astype(object)
    )
    with open(os.path.join(out, "answers.json"), "w") as f:
        json.dump(answers, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])

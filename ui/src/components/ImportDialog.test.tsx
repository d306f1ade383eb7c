import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { backendOf, Providers } from "../testBackend";
import { QuireError } from "../backend";
import type { ImportOutcome, ImportPreview } from "../bindings";
import { defaultName, encodingChoices, ImportDialog, LINK_BY_DEFAULT_BYTES } from "./ImportDialog";

afterEach(cleanup);

const outcome: ImportOutcome = {
  table: { name: "sales", version: 1, rows: 2, columns: [], memory_bytes: 8, linked: null, converted: false, origin: null, missing: null },
  skipped: [],
  skipped_total: 0,
};

const sheetPreview = (sheet: string, column: string): ImportPreview => ({
  format: "excel",
  csv: null,
  sheet: { sheet, has_header: true, sheets: ["2024", "2025"] },
  columns: [{ name: column, kind: "float" }],
  rows: [["1.5"]],
  data_types: [],
  file_bytes: 4096,
});

const parquetPreview = (file_bytes: number): ImportPreview => ({
  format: "parquet",
  csv: null,
  sheet: null,
  columns: [{ name: "id", kind: "integer" }],
  rows: [["1"]],
  data_types: [],
  file_bytes,
});

describe("the import dialog", () => {
  it("reads the file again when the user says the first row is a header, and imports with those columns", async () => {
    const csvPreview = (has_header: boolean): ImportPreview => {
      const columns = has_header
        ? [
            { name: "id", kind: "integer" as const },
            { name: "value", kind: "integer" as const },
          ]
        : [
            { name: "column_1", kind: "text" as const },
            { name: "column_2", kind: "text" as const },
          ];
      return {
        format: "csv",
        csv: { delimiter: ",", quote: '"', has_header, columns, on_bad_row: "reject", missing: ["NA"], encoding: "utf-8", decimal: "." },
        sheet: null,
        columns,
        rows: has_header ? [["1", "10"]] : [["id", "value"], ["1", "10"]],
        data_types: [],
        file_bytes: 20,
      };
    };
    const previewCsv = vi.fn(async (_path: string, options: { has_header: boolean }) => csvPreview(options.has_header));
    const importFile = vi.fn(async () => outcome);
    render(
      <Providers backend={backendOf({ previewCsv, importFile })}>
        <ImportDialog notebook="nb" path="/data/dup.csv" preview={csvPreview(false)} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    fireEvent.click(screen.getByTestId("import-skip-bad-rows"));
    fireEvent.click(screen.getByTestId("import-has-header"));
    await waitFor(() => expect((screen.getByLabelText("Column 1 name") as HTMLInputElement).value).toBe("id"));
    expect(previewCsv).toHaveBeenCalledWith("/data/dup.csv", expect.objectContaining({ has_header: true, columns: null }));
    expect(screen.getByTestId("import-preview").textContent).not.toContain("value1");
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(importFile).toHaveBeenCalled());
    const sent = (importFile.mock.calls[0] as unknown[])[3] as { has_header: boolean; on_bad_row: string; columns: { name: string; kind: string }[] };
    expect(sent.has_header).toBe(true);
    // What to do with rows that do not fit is the user's, not the preview's.
    expect(sent.on_bad_row).toBe("skip");
    expect(sent.columns.map((c) => `${c.name}:${c.kind}`)).toEqual(["id:integer", "value:integer"]);
  });

  it("shows the lines it leaves out before the rows, and reads the file again with as many as the user says", async () => {
    const measures = (skip: number): ImportPreview => {
      const columns = Array.from({ length: skip === 1 ? 3 : 1 }, (_, i) => ({ name: `column_${i + 1}`, kind: "float" as const }));
      return {
        format: "csv",
        csv: { delimiter: ",", quote: '"', has_header: false, columns, on_bad_row: "reject", missing: ["NA"], encoding: "utf-8", decimal: ".", skip_lines: skip },
        sheet: null,
        columns,
        rows: [["17.99", "10.38", "0"]],
        data_types: [],
        file_bytes: 120,
        skipped_lines: skip === 0 ? [] : ["569,30,malignant,benign", "17.99,10.38,0"].slice(0, skip),
      };
    };
    const previewCsv = vi.fn(async (_path: string, options: { skip_lines?: number }) => measures(options.skip_lines ?? 0));
    const importFile = vi.fn(async () => outcome);
    render(
      <Providers backend={backendOf({ previewCsv, importFile })}>
        <ImportDialog notebook="nb" path="/data/breast_cancer.csv" preview={measures(1)} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    expect(screen.getByTestId("import-skipped-lines").textContent).toContain("The first line is left out");
    expect(screen.getByTestId("import-skipped-lines").textContent).toContain("569,30,malignant,benign");
    expect((screen.getByTestId("import-skip-lines") as HTMLInputElement).value).toBe("1");
    fireEvent.change(screen.getByTestId("import-skip-lines"), { target: { value: "0" } });
    await waitFor(() => expect(screen.queryByTestId("import-skipped-lines")).toBeNull());
    expect(previewCsv).toHaveBeenLastCalledWith("/data/breast_cancer.csv", expect.objectContaining({ skip_lines: 0, columns: null }));
    // Read another way that fails, nothing of the last reading stays shown.
    previewCsv.mockImplementationOnce(async () => {
      throw new QuireError("import_failed", "line 2 has 31 fields where the first row has 4");
    });
    fireEvent.change(screen.getByTestId("import-skip-lines"), { target: { value: "1" } });
    await waitFor(() => expect(screen.getByTestId("import-error").textContent).toContain("31 fields"));
    expect(screen.queryByTestId("import-skipped-lines")).toBeNull();
    expect(screen.getByTestId("import-preview").querySelectorAll("tbody tr").length).toBe(0);
    fireEvent.change(screen.getByTestId("import-skip-lines"), { target: { value: "2" } });
    await waitFor(() => expect(screen.getByTestId("import-skipped-lines").textContent).toContain("The first 2 lines are left out"));
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(importFile).toHaveBeenCalled());
    expect(((importFile.mock.calls[0] as unknown[])[3] as { skip_lines: number }).skip_lines).toBe(2);
  });

  it("opens on a file no proposal reads, saying why, and imports it with the rows that do not fit skipped", async () => {
    const unread: ImportPreview = {
      format: "csv",
      csv: { delimiter: ";", quote: '"', has_header: true, columns: null, on_bad_row: "reject", missing: ["NA"], encoding: "utf-8", decimal: ".", skip_lines: 0 },
      sheet: null,
      columns: [],
      rows: [],
      data_types: [],
      file_bytes: 40,
      problem: "line 2 has 4 fields where the first row has 3: check the delimiter and the quote, or skip the rows that do not fit",
    };
    const importFile = vi.fn(async () => ({ ...outcome, skipped_total: 0 }));
    const onDone = vi.fn();
    render(
      <Providers backend={backendOf({ importFile })}>
        <ImportDialog notebook="nb" path="/data/trailing.csv" preview={unread} onDone={onDone} onClose={vi.fn()} />
      </Providers>,
    );
    expect(screen.getByTestId("import-error").textContent).toContain("Line 2 has 4 fields where the first row has 3");
    fireEvent.click(screen.getByTestId("import-skip-bad-rows"));
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    const sent = (importFile.mock.calls[0] as unknown[])[3] as { on_bad_row: string; delimiter: string };
    expect([sent.on_bad_row, sent.delimiter]).toEqual(["skip", ";"]);
  });

  it("says when the header names every column but the first, as R writes row names", () => {
    const columns = ["column_1", "Weight", "Feed"].map((name) => ({ name, kind: "float" as const }));
    const preview: ImportPreview = {
      format: "csv",
      csv: { delimiter: ",", quote: '"', has_header: true, columns, on_bad_row: "reject", missing: ["NA"], encoding: "utf-8", decimal: ".", row_names: true },
      sheet: null,
      columns,
      rows: [["1", "26.5", null]],
      data_types: [],
      file_bytes: 40,
    };
    render(
      <Providers backend={backendOf({})}>
        <ImportDialog notebook="nb" path="/data/dietox.csv" preview={preview} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    expect(screen.getByTestId("import-row-names").textContent).toContain("the first column is named column_1");
  });

  it("names the layout a date column was found written in, and imports with the one the user picks", async () => {
    const columns = [
      { name: "day", kind: "date" as const, layout: "%m/%d/%Y" },
      { name: "at", kind: "timestamp" as const, layout: "%d.%m.%Y %H:%M" },
      { name: "n", kind: "integer" as const },
    ];
    const preview: ImportPreview = {
      format: "csv",
      csv: { delimiter: ",", quote: '"', has_header: true, columns, on_bad_row: "reject", missing: ["NA"], encoding: "utf-8", decimal: "." },
      sheet: null,
      columns,
      rows: [["2012-01-02", "2012-01-31T14:05:00", "1"]],
      data_types: [],
      layout_doubts: [{ column: 0, also: "%d/%m/%Y" }],
      file_bytes: 40,
    };
    const importFile = vi.fn(async () => outcome);
    const previewCsv = vi.fn(async () => preview);
    render(
      <Providers backend={backendOf({ importFile, previewCsv })}>
        <ImportDialog notebook="nb" path="/data/visits.csv" preview={preview} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    const writtenAs = (n: number) => screen.getByLabelText(`Column ${n} written as`) as HTMLSelectElement;
    expect(writtenAs(1).selectedOptions[0]?.textContent).toBe("as 01/31/2012");
    // Month or day first: the values do not say, and the dialog asks to check.
    expect(screen.getByTestId("import-layout-doubt").textContent).toBe("or 31/01/2012? Check");
    expect(writtenAs(2).selectedOptions[0]?.textContent).toBe("as 31.01.2012 14:05");
    expect(screen.queryByLabelText("Column 3 written as")).toBeNull();
    // 01/02 could be either: the user says the file writes the day first, and the first rows
    // are read again that way.
    fireEvent.change(writtenAs(1), { target: { value: "%d/%m/%Y" } });
    expect(screen.queryByTestId("import-layout-doubt")).toBeNull();
    await waitFor(() =>
      expect(previewCsv).toHaveBeenCalledWith(
        "/data/visits.csv",
        expect.objectContaining({ columns: expect.arrayContaining([expect.objectContaining({ name: "day", layout: "%d/%m/%Y" })]) }),
      ),
    );
    // A layout the first rows do not fit: said at once, and the rows read before go.
    previewCsv.mockImplementationOnce(async () => {
      throw new QuireError("import_failed", 'line 2: "01/02/2012" in column day is not a valid date');
    });
    fireEvent.change(writtenAs(1), { target: { value: "%Y/%m/%d" } });
    await waitFor(() => expect(screen.getByTestId("import-preview").querySelectorAll("tbody tr").length).toBe(0));
    fireEvent.change(writtenAs(1), { target: { value: "%d/%m/%Y" } });
    await waitFor(() => expect(screen.getByTestId("import-preview").querySelectorAll("tbody tr").length).toBe(1));
    // A date-time column made a date column reads ISO dates unless told otherwise.
    fireEvent.change(screen.getByLabelText("Column 2 type"), { target: { value: "date" } });
    expect(writtenAs(2).value).toBe("");
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(importFile).toHaveBeenCalled());
    const sent = (importFile.mock.calls[0] as unknown[])[3] as { columns: { name: string; kind: string; layout?: string | null }[]; picked: number[] };
    expect(sent.columns.map((c) => `${c.name}:${c.kind}:${c.layout ?? ""}`)).toEqual(["day:date:%d/%m/%Y", "at:date:", "n:integer:"]);
    // The type picked is kept as picked (a layout alone is no pick of a type).
    expect(sent.picked).toEqual([1]);
  });

  it("shows the types a JSON or Parquet file gives, lists and objects included, in words", () => {
    const preview: ImportPreview = {
      format: "json",
      csv: null,
      sheet: null,
      columns: [
        { name: "name", kind: "text" },
        { name: "sleep", kind: "text" },
        { name: "tags", kind: "text" },
      ],
      data_types: ["Utf8", 'Struct("total": Float64, "rem": Float64)', 'List(Field { name: "item", data_type: Utf8 })'],
      rows: [["Cheetah", "{total: 12.1, rem: null}", "[fast]"]],
      file_bytes: 100,
    };
    render(
      <Providers backend={backendOf({})}>
        <ImportDialog notebook="nb" path="/data/msleep.ndjson" preview={preview} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    expect(screen.getAllByTestId("import-column-type").map((e) => e.textContent)).toEqual(["text", "struct", "list"]);
    expect(screen.queryByLabelText("Column 1 type")).toBeNull();
  });

  it("links a Parquet file instead of copying it when asked, and by default past 512 MB", async () => {
    const linked = { ...outcome.table, name: "trips", rows: 100_000_000, linked: "/data/trips.parquet" };
    const linkFile = vi.fn(async () => linked);
    const importFile = vi.fn(async () => outcome);
    const onDone = vi.fn();
    const { unmount } = render(
      <Providers backend={backendOf({ linkFile, importFile })}>
        <ImportDialog notebook="nb" path="/data/trips.parquet" preview={parquetPreview(4096)} onDone={onDone} onClose={vi.fn()} />
      </Providers>,
    );
    // Small: copied unless the user picks the link.
    expect((screen.getByTestId("import-mode-copy") as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByTestId("import-mode-link"));
    expect(screen.getByTestId("import-start").textContent).toBe("Link");
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(onDone).toHaveBeenCalledWith({ table: linked, skipped: [], skipped_total: 0 }));
    expect(linkFile).toHaveBeenCalledWith("nb", "/data/trips.parquet", null, "trips");
    expect(importFile).not.toHaveBeenCalled();
    unmount();
    render(
      <Providers backend={backendOf({ linkFile, importFile })}>
        <ImportDialog notebook="nb" path="/data/trips.parquet" preview={parquetPreview(LINK_BY_DEFAULT_BYTES)} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    expect((screen.getByTestId("import-mode-link") as HTMLInputElement).checked).toBe(true);
  });

  it("converts a big CSV into Parquet and links it, by default past 512 MB, and copies a small one", async () => {
    const csvPreview = (file_bytes: number): ImportPreview => ({
      format: "csv",
      csv: { delimiter: ",", quote: '"', has_header: true, columns: null, on_bad_row: "reject", missing: ["NA"], encoding: null, decimal: "." },
      sheet: null,
      columns: [{ name: "id", kind: "integer" }],
      rows: [["1"]],
      data_types: [],
      file_bytes,
    });
    const importFile = vi.fn(async () => outcome);
    const onDone = vi.fn();
    const { unmount } = render(
      <Providers backend={backendOf({ importFile })}>
        <ImportDialog notebook="nb" path="/data/trips.csv" preview={csvPreview(LINK_BY_DEFAULT_BYTES)} onDone={onDone} onClose={vi.fn()} />
      </Providers>,
    );
    expect((screen.getByTestId("import-mode-convert") as HTMLInputElement).checked).toBe(true);
    expect(screen.getByTestId("import-start").textContent).toBe("Convert");
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect((importFile.mock.calls[0] as unknown[])[5]).toBe(true);
    unmount();
    render(
      <Providers backend={backendOf({ importFile })}>
        <ImportDialog notebook="nb" path="/data/trips.csv" preview={csvPreview(4096)} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    expect((screen.getByTestId("import-mode-copy") as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByTestId("import-mode-link")).toBeNull();
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(importFile).toHaveBeenCalledTimes(2));
    expect((importFile.mock.calls[1] as unknown[])[5]).toBe(false);
  });

  it("offers no link for files it cannot link", () => {
    render(
      <Providers backend={backendOf({})}>
        <ImportDialog notebook="nb" path="/data/sales.xlsx" preview={sheetPreview("2024", "revenue")} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    expect(screen.queryByTestId("import-mode")).toBeNull();
  });

  it("names the table after the file, without its compression's extension", () => {
    expect(defaultName("/data/Trips 2024.csv.gz")).toBe("trips_2024");
    expect(defaultName("/data/sales.xlsx")).toBe("sales");
    expect(defaultName("C:\\data\\2024.csv.zst")).toBe("t_2024");
  });

  it("offers the detected encoding first when it is not a common one", () => {
    expect(encodingChoices("utf-8")[0]![0]).toBe("utf-8");
    expect(encodingChoices("koi8-r")[0]).toEqual(["koi8-r", "koi8-r"]);
  });

  it("previews another sheet when it is picked and imports the sheet shown", async () => {
    const previewImport = vi.fn(async (_path: string, sheet: string | null) => sheetPreview(sheet ?? "2024", "revenue_2025"));
    const importFile = vi.fn(async () => outcome);
    const onDone = vi.fn();
    render(
      <Providers backend={backendOf({ previewImport, importFile })}>
        <ImportDialog notebook="nb" path="/data/sales.xlsx" preview={sheetPreview("2024", "revenue_2024")} onDone={onDone} onClose={vi.fn()} />
      </Providers>,
    );
    expect(screen.getByText("Spreadsheet · 4.0 KB", { exact: false })).toBeTruthy();
    fireEvent.change(screen.getByTestId("import-sheet"), { target: { value: "2025" } });
    await waitFor(() => expect((screen.getByLabelText("Column 1 name") as HTMLInputElement).value).toBe("revenue_2025"));
    expect(previewImport).toHaveBeenCalledWith("/data/sales.xlsx", "2025");
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    const args = importFile.mock.calls[0] as unknown[];
    expect(args[4]).toEqual({ sheet: "2025", has_header: true, sheets: ["2024", "2025"] });
  });

  it("sends the encoding and decimal separator chosen", async () => {
    const importFile = vi.fn(async () => outcome);
    const preview: ImportPreview = {
      format: "csv",
      csv: { delimiter: ";", quote: '"', has_header: true, columns: null, on_bad_row: "reject", missing: ["NA"], encoding: "windows-1252", decimal: "," },
      sheet: null,
      columns: [{ name: "preis", kind: "float" }],
      rows: [["3.5"]],
      data_types: [],
      file_bytes: 100,
    };
    render(
      <Providers backend={backendOf({ importFile })}>
        <ImportDialog notebook="nb" path="/data/preise.csv" preview={preview} onDone={vi.fn()} onClose={vi.fn()} />
      </Providers>,
    );
    const encoding = screen.getByTestId("import-encoding") as HTMLSelectElement;
    expect(encoding.value).toBe("windows-1252");
    expect(encoding.selectedOptions[0]!.textContent).toContain("(detected)");
    expect((screen.getByTestId("import-decimal") as HTMLSelectElement).value).toBe(",");
    fireEvent.change(encoding, { target: { value: "iso-8859-15" } });
    fireEvent.click(screen.getByTestId("import-start"));
    await waitFor(() => expect(importFile).toHaveBeenCalled());
    const options = (importFile.mock.calls[0] as unknown[])[3] as { encoding: string; decimal: string };
    expect(options.encoding).toBe("iso-8859-15");
    expect(options.decimal).toBe(",");
  });
});

import { describe, expect, it } from "vitest";
import { overallStatus, overallText, pendingCount } from "./status";
import type { NotebookSummary, SaveState } from "./bindings";

const nb = (title: string, status: SaveState, on_disk = true): NotebookSummary => ({
  id: title,
  title,
  cell_count: 0,
  on_disk,
  folder: null,
  status,
});

describe("overallStatus", () => {
  it("is saved when every notebook is on disk", () => {
    expect(overallText(overallStatus([nb("a", { state: "saved" })]))).toBe("All changes saved");
  });

  it("counts unsaved notebooks; Flush also counts ones never written", () => {
    const list = [nb("a", { state: "unsaved" }), nb("b", { state: "unsaved" }, false), nb("c", { state: "saved" }, false)];
    expect(pendingCount(list)).toBe(3);
    expect(overallText(overallStatus(list))).toBe("Unsaved changes in 2 places");
  });

  it("does not call a brand-new empty notebook 'Unsaved changes'", () => {
    const fresh = nb("new", { state: "saved" }, false);
    expect(overallStatus([fresh, nb("old", { state: "saved" })])).toEqual({ kind: "not_written", count: 1 });
    expect(overallText(overallStatus([fresh]))).toBe("New notebook not saved yet");
    expect(pendingCount([fresh]), "Flush still writes it").toBe(1);
  });

  it("puts a failure first, then a disk change, then saving", () => {
    const failed = nb("f", { state: "failed", message: "disk full" });
    const changed = nb("c", { state: "changed_on_disk" });
    const saving = nb("s", { state: "saving" });
    expect(overallStatus([saving, changed, failed])).toEqual({ kind: "failed", message: "disk full" });
    expect(overallStatus([saving, changed]).kind).toBe("changed_on_disk");
    expect(overallStatus([saving, nb("u", { state: "unsaved" })]).kind).toBe("saving");
    expect(overallStatus([nb("u", { state: "unsaved" })], true).kind).toBe("saving");
  });

  it("does not count an unreadable notebook as pending", () => {
    expect(pendingCount([nb("x", { state: "unreadable", message: "damaged" })])).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import { DiffRows, visibleSpaces } from "./DiffView";

describe("diff rows", () => {
  it("show the spaces a trim removes, and empty text apart from NULL", () => {
    expect(visibleSpaces("Torgersen")).toBe("Torgersen");
    expect(visibleSpaces(" Torgersen  ")).toBe('"·Torgersen··"');
    expect(visibleSpaces("")).toBe('""');
    expect(visibleSpaces("  ")).toBe('"··"');
    render(
      <DiffRows
        page={{
          old_columns: ["island"],
          new_columns: ["island"],
          total: 1,
          offset: 0,
          rows: [{ row_id: 0, kind: "changed", changed: ["island"], old: [" Torgersen"], new: ["Torgersen"] }],
        }}
      />,
    );
    expect(screen.getByTestId("diff-row-0").textContent).toContain('"·Torgersen" → Torgersen');
  });
});

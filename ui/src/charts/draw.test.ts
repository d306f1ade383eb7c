import { describe, expect, it } from "vitest";
import { drawnForExport, EXPORT_BACKGROUND } from "./draw";

const spec = {
  data: { values: [{ city: "Lyon", n: 3 }, { city: "Nice", n: 5 }] },
  mark: "bar",
  encoding: { x: { field: "city", type: "nominal" }, y: { field: "n", type: "quantitative" } },
};

describe("a saved chart image", () => {
  it("is drawn in the light theme on white, whatever theme the app shows", async () => {
    const svg = await drawnForExport(spec).svg();
    expect(svg.toLowerCase()).toContain(EXPORT_BACKGROUND);
    // The axis labels in the light theme's text colour, never the dark theme's pale grey.
    expect(svg).toContain("#1f2328");
    expect(svg).not.toContain("#e6e6e6");
  });
});

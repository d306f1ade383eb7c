import { describe, expect, it } from "vitest";
import { CANVAS_POINTS, rendererFor } from "../charts/draw";

describe("the chart's renderer", () => {
  it("draws SVG up to CANVAS_POINTS points and paints a canvas past them", () => {
    const points = (n: number) => ({ mark: "point", data: { values: Array.from({ length: n }, (_, i) => ({ c0: i })) } });
    expect(rendererFor(points(CANVAS_POINTS))).toBe("svg");
    expect(rendererFor(points(CANVAS_POINTS + 1))).toBe("canvas");
    expect(rendererFor({ mark: "bar" })).toBe("svg");
  });
});

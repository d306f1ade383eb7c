// The engine bins in SQL with its own copy of Vega's bin algorithm
// (src-tauri/engine/src/charts/bins.rs), so a chart's bins are where Vega-Lite would have put
// them. This pins Vega's answers for the cases the Rust test checks: a Vega upgrade that bins
// differently fails here, naming the case to update there.
import { describe, expect, it } from "vitest";
import * as vega from "vega";

type Bins = { start: number; stop: number; step: number };
// Exported by vega (from vega-statistics) but missing from its typings.
const { bin } = vega as unknown as { bin(options: { extent: [number, number]; maxbins: number; step?: number }): Bins };

describe("Vega's bins, as the engine computes them", () => {
  it.each([
    [0, 100, 10, undefined, { start: 0, stop: 100, step: 10 }],
    [1.3, 97.2, 10, undefined, { start: 0, stop: 100, step: 10 }],
    [0, 1, 50, undefined, { start: 0, stop: 1, step: 0.02 }],
    [-3.5, 12.25, 20, undefined, { start: -4, stop: 13, step: 1 }],
    [5, 5, 10, undefined, { start: 5, stop: 5.5, step: 0.5 }],
    [0, 10, 10, 3, { start: 0, stop: 12, step: 3 }],
  ])("extent [%f, %f], maxbins %i, step %s", (min, max, maxbins, step, expected) => {
    expect(bin({ extent: [min, max], maxbins, step })).toEqual(expected);
  });
});

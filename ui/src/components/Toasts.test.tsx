import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render } from "@testing-library/react";
import { INFO_TOAST_MS, Toasts } from "./Toasts";
import type { Toast } from "../store";

const info = (id: number): Toast => ({ id, level: "info", text: { headline: `Info ${id}`, detail: "" } });
const error = (id: number): Toast => ({ id, level: "error", text: { headline: `Error ${id}`, detail: "" } });

describe("Toasts", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("dismisses each information toast on its own clock, however many follow it", () => {
    const dismissed: number[] = [];
    const onDismiss = (id: number) => dismissed.push(id);
    const view = render(<Toasts toasts={[info(1)]} onDismiss={onDismiss} />);
    vi.advanceTimersByTime(INFO_TOAST_MS - 1000);
    view.rerender(<Toasts toasts={[info(1), info(2), error(3)]} onDismiss={onDismiss} />);
    vi.advanceTimersByTime(1000);
    expect(dismissed).toEqual([1]);
    view.rerender(<Toasts toasts={[info(2), error(3)]} onDismiss={onDismiss} />);
    vi.advanceTimersByTime(INFO_TOAST_MS);
    expect(dismissed).toEqual([1, 2]);
    vi.advanceTimersByTime(60_000);
    expect(dismissed, "an error stays until the user dismisses it").toEqual([1, 2]);
  });
});

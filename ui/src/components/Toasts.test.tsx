import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { AFTER_HOVER_MS, ERROR_TOAST_MS, INFO_TOAST_MS, Toasts } from "./Toasts";
import type { Toast } from "../store";

const info = (id: number): Toast => ({ id, level: "info", text: { headline: `Info ${id}`, detail: "" } });
const error = (id: number): Toast => ({ id, level: "error", text: { headline: `Error ${id}`, detail: "Expected: an expression" } });

describe("Toasts", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it("dismisses each toast on its own clock, however many follow it; errors stay longer", () => {
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
    view.rerender(<Toasts toasts={[error(3)]} onDismiss={onDismiss} />);
    vi.advanceTimersByTime(ERROR_TOAST_MS - INFO_TOAST_MS - 1000 - 1);
    expect(dismissed, "an error is up long enough to read").toEqual([1, 2]);
    vi.advanceTimersByTime(1);
    expect(dismissed).toEqual([1, 2, 3]);
  });

  it("keeps every toast while the pointer is on them, and lets them go after it leaves", () => {
    const dismissed: number[] = [];
    const view = render(<Toasts toasts={[error(1)]} onDismiss={(id) => dismissed.push(id)} />);
    vi.advanceTimersByTime(ERROR_TOAST_MS - 500);
    fireEvent.mouseEnter(screen.getByRole("status"));
    view.rerender(<Toasts toasts={[error(1), info(2)]} onDismiss={(id) => dismissed.push(id)} />);
    vi.advanceTimersByTime(60_000);
    expect(dismissed, "nothing disappears while it is read").toEqual([]);
    fireEvent.mouseLeave(screen.getByRole("status"));
    vi.advanceTimersByTime(AFTER_HOVER_MS - 1);
    expect(dismissed).toEqual([]);
    vi.advanceTimersByTime(INFO_TOAST_MS);
    expect(dismissed.sort()).toEqual([1, 2]);
  });

  it("closes an error with its close button", () => {
    const dismissed: number[] = [];
    render(<Toasts toasts={[error(7)]} onDismiss={(id) => dismissed.push(id)} />);
    fireEvent.click(screen.getByTestId("toast-close"));
    expect(dismissed).toEqual([7]);
  });

  it("does not stay paused when the last toast closes under the pointer", () => {
    const dismissed: number[] = [];
    const onDismiss = (id: number) => dismissed.push(id);
    const view = render(<Toasts toasts={[error(1)]} onDismiss={onDismiss} />);
    fireEvent.mouseEnter(screen.getByRole("status"));
    view.rerender(<Toasts toasts={[]} onDismiss={onDismiss} />);
    view.rerender(<Toasts toasts={[info(2)]} onDismiss={onDismiss} />);
    vi.advanceTimersByTime(INFO_TOAST_MS);
    expect(dismissed).toEqual([2]);
  });
});

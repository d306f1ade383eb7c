import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render } from "@testing-library/react";
import { useEscape } from "./useEscape";

function Dialog({ name, closed }: { name: string; closed: string[] }) {
  useEscape(() => closed.push(name));
  return <div>{name}</div>;
}

afterEach(cleanup);

describe("useEscape", () => {
  it("closes only the dialog on top, then the one under it", () => {
    const closed: string[] = [];
    const view = render(
      <>
        <Dialog name="tasks" closed={closed} />
        <Dialog name="confirm" closed={closed} />
      </>,
    );
    fireEvent.keyDown(window, { key: "Escape" });
    expect(closed).toEqual(["confirm"]);
    view.rerender(<Dialog name="tasks" closed={closed} />);
    fireEvent.keyDown(window, { key: "Escape" });
    expect(closed).toEqual(["confirm", "tasks"]);
    view.unmount();
    fireEvent.keyDown(window, { key: "Escape" });
    expect(closed).toHaveLength(2);
  });

  it("leaves an Esc that something inside already used (an editor's completion list)", () => {
    const closed: string[] = [];
    const { getByText } = render(<Dialog name="settings" closed={closed} />);
    const target = getByText("settings");
    target.addEventListener("keydown", (e) => e.preventDefault());
    fireEvent.keyDown(target, { key: "Escape" });
    expect(closed).toEqual([]);
    fireEvent.keyDown(window, { key: "a" });
    expect(closed).toEqual([]);
  });
});

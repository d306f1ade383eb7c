import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, waitFor } from "@testing-library/react";
import { EditorView } from "@codemirror/view";
import { completionStatus, startCompletion } from "@codemirror/autocomplete";
import { tags } from "@lezer/highlight";
import { SqlEditor } from "./SqlEditor";
import { sqlHighlight } from "../sqlHighlight";
import { alreadyTyped, clearlyMeant } from "../completionKeys";
import { TABLE_DRAG } from "./SidebarTables";

afterEach(cleanup);

function editor(value: string, onChange: (s: string) => void = () => {}) {
  const { container } = render(
    <SqlEditor value={value} onChange={onChange} onRun={() => {}} schema={{ flights_all: ["origin"], flights_2024: ["origin"] }} errorAt={null} />,
  );
  const view = EditorView.findFromDOM(container.querySelector(".cm-editor") as HTMLElement)!;
  view.dispatch({ selection: { anchor: value.length } });
  return view;
}

/** Opens the completion list and waits past its interaction delay (75 ms), during which
 *  CodeMirror ignores Enter on purpose. */
async function openCompletions(view: EditorView) {
  startCompletion(view);
  await waitFor(() => expect(completionStatus(view.state)).toBe("active"));
  await new Promise((r) => setTimeout(r, 120));
}

function press(view: EditorView, key: string) {
  view.contentDOM.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
}

describe("SqlEditor", () => {
  it("colours keywords with the themed style, not CodeMirror's light-only default", () => {
    const view = editor("SELECT 1");
    const keyword = [...view.contentDOM.querySelectorAll("span")].find((s) => s.textContent === "SELECT");
    expect(keyword?.className).toContain(sqlHighlight.style([tags.keyword])!);
  });

  it("wraps long lines instead of scrolling sideways", () => {
    const view = editor("SELECT 1");
    expect(view.contentDOM.classList.contains("cm-lineWrapping")).toBe(true);
  });

  it("turns a table dropped into an empty cell into a query of it", () => {
    let sent = "";
    const view = editor("", (s) => (sent = s));
    const data: Record<string, string> = { [TABLE_DRAG]: "Trips 2024", "text/plain": '"Trips 2024"' };
    fireEvent.drop(view.contentDOM, { dataTransfer: { getData: (t: string) => data[t] ?? "", types: Object.keys(data) } });
    expect(view.state.doc.toString()).toBe('SELECT * FROM "Trips 2024"');
    expect(sent).toBe('SELECT * FROM "Trips 2024"');
  });

  it("closes the completion list when the query runs (it would cover the result)", async () => {
    let ran = 0;
    const { container } = render(
      <SqlEditor value="SELECT * FROM flights" onChange={() => {}} onRun={() => ran++} schema={{ flights_all: ["origin"] }} errorAt={null} />,
    );
    const view = EditorView.findFromDOM(container.querySelector(".cm-editor") as HTMLElement)!;
    view.dispatch({ selection: { anchor: view.state.doc.length } });
    await openCompletions(view);
    view.contentDOM.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", ctrlKey: true, bubbles: true, cancelable: true }));
    expect(ran).toBe(1);
    expect(completionStatus(view.state)).toBeNull();
  });

  it("inserts a newline on Enter after a table name typed in full", async () => {
    const view = editor("SELECT * FROM flights_all");
    await openCompletions(view);
    press(view, "Enter");
    expect(view.state.doc.toString()).toBe("SELECT * FROM flights_all\n");
    expect(completionStatus(view.state)).toBeNull();
  });

  it("types an opening bracket or quote as it is, with nothing closed ahead of the cursor", () => {
    const view = editor("SELECT * FROM ");
    const at = view.state.doc.length;
    for (const typed of ["(", "'"]) {
      const handled = view.state
        .facet(EditorView.inputHandler)
        .some((handler) => handler(view, at, at, typed, () => view.state.update({ changes: { from: at, insert: typed } })));
      expect(handled, typed).toBe(false);
    }
    expect(view.state.doc.toString()).toBe("SELECT * FROM ");
  });

  it("still completes a partly typed name with Enter", async () => {
    const view = editor("SELECT * FROM flights_a");
    await openCompletions(view);
    press(view, "Enter");
    expect(view.state.doc.toString()).toBe("SELECT * FROM flights_all");
  });

  it("ends a line on a short alias with Enter instead of completing it, unless a completion was picked", async () => {
    // `d` could begin the table name; the user ended the line on an alias.
    let view = editor("SELECT d.origin FROM flights_all d");
    await openCompletions(view);
    expect(completionStatus(view.state)).toBe("active");
    press(view, "Enter");
    expect(view.state.doc.toString()).toBe("SELECT d.origin FROM flights_all d\n");
    cleanup();
    // Three letters that begin a keyword are an alias too (MONTH, MINUTE…).
    view = editor("SELECT origin AS mon");
    await openCompletions(view);
    expect(completionStatus(view.state)).toBe("active");
    press(view, "Enter");
    expect(view.state.doc.toString()).toBe("SELECT origin AS mon\n");
    cleanup();
    // Moving through the list is a pick: Enter takes it.
    view = editor("SELECT * FROM f");
    await openCompletions(view);
    press(view, "ArrowDown");
    press(view, "Enter");
    expect(view.state.doc.toString()).toMatch(/^SELECT \* FROM flights_(all|2024)$/);
    cleanup();
    // Tab always takes the one shown first.
    view = editor("SELECT * FROM f");
    await openCompletions(view);
    press(view, "Tab");
    expect(view.state.doc.toString()).toMatch(/^SELECT \* FROM flights_(all|2024)$/);
  });
});

describe("clearlyMeant", () => {
  it("takes three letters or more that begin the completion", () => {
    expect(clearlyMeant("FROM flights_a", { label: "flights_all" })).toBe(true);
    expect(clearlyMeant("count(*) AS n", { label: "NAMES" })).toBe(false);
    expect(clearlyMeant("FROM diamonds d", { label: "diamonds" })).toBe(false);
    expect(clearlyMeant("AS cnt", { label: "COUNT" })).toBe(false);
    // A keyword is never taken unasked: `AS min` is an alias far more often than MINUTE.
    expect(clearlyMeant("min(x) AS min", { label: "MINUTE", type: "keyword" })).toBe(false);
    expect(clearlyMeant("FROM flights_a", { label: "flights_all", type: "type" })).toBe(true);
    expect(clearlyMeant("max(year) AS flig", { label: "flights_all", type: "type" })).toBe(false);
    expect(clearlyMeant("FROM flights_all", { label: "flights_all" })).toBe(false);
  });
});

describe("alreadyTyped", () => {
  it("compares the word before the cursor with what the completion would insert", () => {
    expect(alreadyTyped("FROM flights_all", { label: "flights_all" })).toBe(true);
    expect(alreadyTyped("from t where", { label: "WHERE" })).toBe(true);
    expect(alreadyTyped("FROM flights_a", { label: "flights_all" })).toBe(false);
    expect(alreadyTyped("FROM ", { label: "flights_all" })).toBe(false);
    expect(alreadyTyped("x.origin", { label: "origin", apply: "origin" })).toBe(true);
  });
});

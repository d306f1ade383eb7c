// Enter and Tab while the completion list is open. CodeMirror's default makes Enter accept the
// selected completion whatever was typed, so ending a line on a short alias rewrote it: after
// `count(*) AS n` Enter inserted NAMES, after `FROM diamonds d` it made the alias `diamonds`,
// and the newline was swallowed ("NAMESFROM", analyst session on plotnine data). Here Enter
// accepts only a clear choice: the user moved through the list with the arrow keys, or typed at
// least three letters that begin a table's or column's name (`flights_a` → `flights_all`; never
// a keyword: `AS min`, `AS num`, `AS val` are aliases more often than MINUTE, NUMERIC or VALUE).
// Otherwise it
// closes the list and inserts the newline the user asked for. Tab always accepts, as in most
// code editors.
import { acceptCompletion, closeCompletion, completionStatus, selectedCompletion, type Completion } from "@codemirror/autocomplete";
import { insertNewlineAndIndent } from "@codemirror/commands";
import type { EditorState } from "@codemirror/state";
import { ViewPlugin, type EditorView, type KeyBinding, type ViewUpdate } from "@codemirror/view";

/** Letters typed that make Enter take a completion they begin. */
const CLEAR_PREFIX = 3;

/** The word before the cursor (letters, digits, `_`, `$`). */
function typedWord(textBefore: string): string {
  return /[\w$]*$/.exec(textBefore)?.[0] ?? "";
}

function inserted(completion: Completion): string {
  return typeof completion.apply === "string" ? completion.apply : completion.label;
}

/** Whether accepting `completion` would leave the word before the cursor as it is (ignoring
 *  case: SQL keywords and unquoted names are case-insensitive, and a newline is what was meant). */
export function alreadyTyped(textBefore: string, completion: Completion): boolean {
  const typed = typedWord(textBefore);
  return typed.length > 0 && typed.toLowerCase() === inserted(completion).toLowerCase();
}

/** Whether Enter should take `completion` after `textBefore` without the user having picked it. */
export function clearlyMeant(textBefore: string, completion: Completion): boolean {
  if (completion.type === "keyword") return false;
  // A word right after AS names something new: an alias, never a completion (`AS cont`).
  if (/\bas\s+[\w$]*$/i.test(textBefore)) return false;
  const typed = typedWord(textBefore).toLowerCase();
  const insert = inserted(completion).toLowerCase();
  return typed.length >= CLEAR_PREFIX && insert.startsWith(typed) && insert !== typed;
}

function textBeforeCursor(state: EditorState): string {
  const head = state.selection.main.head;
  const line = state.doc.lineAt(head);
  return state.sliceDoc(line.from, head);
}

/** Editors whose open completion list the user moved through (an explicit pick). */
const navigated = new WeakSet<EditorView>();

/** Forgets the pick once the list closes or the text changes (the list is then a new one). */
export const completionPicks = ViewPlugin.fromClass(
  class {
    update(u: ViewUpdate) {
      if (u.docChanged || completionStatus(u.state) !== "active") navigated.delete(u.view);
    }
  },
);

/** Marks a move through the list; CodeMirror's own keymap (after this one) moves. */
function moved(view: EditorView): boolean {
  if (completionStatus(view.state) === "active") navigated.add(view);
  return false;
}

function enter(view: EditorView): boolean {
  if (completionStatus(view.state) !== "active") return false;
  const picked = selectedCompletion(view.state);
  const before = textBeforeCursor(view.state);
  if (picked && !alreadyTyped(before, picked) && (navigated.has(view) || clearlyMeant(before, picked))) {
    return acceptCompletion(view);
  }
  closeCompletion(view);
  return insertNewlineAndIndent(view);
}

/** Goes before CodeMirror's completionKeymap (with autocompletion's own keymap turned off),
 *  with [`completionPicks`] among the editor's extensions. */
export const completionKeys: KeyBinding[] = [
  { key: "Enter", run: enter },
  { key: "Tab", run: acceptCompletion },
  { key: "ArrowDown", run: moved },
  { key: "ArrowUp", run: moved },
  { key: "PageDown", run: moved },
  { key: "PageUp", run: moved },
];

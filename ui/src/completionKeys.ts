// Enter and Tab while the completion list is open. CodeMirror's default makes Enter accept the
// selected completion even when it is exactly the word already typed: after typing a whole
// table name, Enter "accepted" it (a no-op), closed the list and swallowed the newline, so the
// next word ran on ("flights_allWHERE"). Here Enter accepts only when accepting changes
// something; otherwise it closes the list and inserts the newline the user asked for. Tab
// always accepts, as in most code editors.
import { acceptCompletion, closeCompletion, completionStatus, selectedCompletion, type Completion } from "@codemirror/autocomplete";
import { insertNewlineAndIndent } from "@codemirror/commands";
import type { EditorState } from "@codemirror/state";
import type { EditorView, KeyBinding } from "@codemirror/view";

/** Whether accepting `completion` would leave the word before the cursor as it is (ignoring
 *  case: SQL keywords and unquoted names are case-insensitive, and a newline is what was meant). */
export function alreadyTyped(textBefore: string, completion: Completion): boolean {
  const insert = typeof completion.apply === "string" ? completion.apply : completion.label;
  const typed = /[\w$]*$/.exec(textBefore)?.[0] ?? "";
  return typed.length > 0 && typed.toLowerCase() === insert.toLowerCase();
}

function textBeforeCursor(state: EditorState): string {
  const head = state.selection.main.head;
  const line = state.doc.lineAt(head);
  return state.sliceDoc(line.from, head);
}

function enter(view: EditorView): boolean {
  if (completionStatus(view.state) !== "active") return false;
  const picked = selectedCompletion(view.state);
  if (picked && !alreadyTyped(textBeforeCursor(view.state), picked)) return acceptCompletion(view);
  closeCompletion(view);
  return insertNewlineAndIndent(view);
}

/** Goes before CodeMirror's completionKeymap (with autocompletion's own keymap turned off). */
export const completionKeys: KeyBinding[] = [
  { key: "Enter", run: enter },
  { key: "Tab", run: acceptCompletion },
];

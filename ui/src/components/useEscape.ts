// Esc closes the dialog on top, and only that one: dialogs open over other dialogs (a confirm
// over the tables panel's dialogs, a toast's dialog over the task list), and one key press
// must not close them all. Every dialog registers here instead of its own window listener.
import { useEffect, useRef } from "react";

const stack: { current: () => void }[] = [];

function onKey(e: KeyboardEvent) {
  // Something inside the dialog used the key already (CodeMirror closing its completion
  // list, a grid leaving its cell editor): that press was not meant for the dialog.
  if (e.key !== "Escape" || e.defaultPrevented || e.isComposing) return;
  const top = stack[stack.length - 1];
  if (!top) return;
  e.preventDefault();
  top.current();
}

/** Calls `onEscape` when Esc is pressed while this dialog is the topmost one using the hook. */
export function useEscape(onEscape: () => void) {
  const handler = useRef(onEscape);
  handler.current = onEscape;
  useEffect(() => {
    const entry = handler;
    stack.push(entry);
    if (stack.length === 1) window.addEventListener("keydown", onKey);
    return () => {
      stack.splice(stack.lastIndexOf(entry), 1);
      if (stack.length === 0) window.removeEventListener("keydown", onKey);
    };
  }, []);
}

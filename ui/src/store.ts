// The app's state and every way it changes, as one reducer: components dispatch, the engine's
// events dispatch, and tests drive it without a webview.
import type { AppInfo, MetricsSnapshot, NotebookSummary, Sequenced } from "./bindings";
import type { ErrorText } from "./errors";

export interface Toast {
  id: number;
  text: ErrorText;
}

export interface State {
  info: AppInfo | null;
  notebooks: NotebookSummary[];
  selected: string | null;
  metrics: MetricsSnapshot | null;
  toasts: Toast[];
  lastSeq: number;
}

export const initialState: State = {
  info: null,
  notebooks: [],
  selected: null,
  metrics: null,
  toasts: [],
  lastSeq: 0,
};

export type Action =
  | { type: "info"; info: AppInfo }
  | { type: "notebooks"; notebooks: NotebookSummary[] }
  | { type: "select"; id: string }
  | { type: "metrics"; metrics: MetricsSnapshot }
  | { type: "engine_events"; batch: Sequenced[] }
  | { type: "toast"; text: ErrorText }
  | { type: "dismiss"; id: number };

let nextToastId = 1;

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "info":
      return { ...state, info: action.info };
    case "notebooks":
      return { ...state, notebooks: action.notebooks };
    case "select":
      return { ...state, selected: action.id };
    case "metrics":
      return { ...state, metrics: action.metrics };
    case "toast":
      return { ...state, toasts: [...state.toasts, { id: nextToastId++, text: action.text }] };
    case "dismiss":
      return { ...state, toasts: state.toasts.filter((t) => t.id !== action.id) };
    case "engine_events":
      return action.batch.reduce(applyEvent, state);
  }
}

function applyEvent(state: State, { seq, event }: Sequenced): State {
  // A batch can repeat what a command result already applied; sequence numbers make it idempotent.
  if (seq <= state.lastSeq) return state;
  const next = { ...state, lastSeq: seq };
  switch (event.kind) {
    case "notebook_created": {
      const exists = next.notebooks.some((n) => n.id === event.notebook.id);
      return exists ? next : { ...next, notebooks: [...next.notebooks, event.notebook] };
    }
  }
}

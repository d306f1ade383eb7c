// What every component may need without it being passed down: the engine (Backend), the
// notifications (toasts) and the app store. The app provides them once at the top; tests
// provide fakes the same way.
import { createContext, useCallback, useContext, useMemo, useReducer, type Dispatch, type ReactNode } from "react";
import { QuireError, type Backend } from "./backend";
import { describeError } from "./errors";
import { initialState, reduce, type Action, type State } from "./store";

const BackendContext = createContext<Backend | null>(null);

export function BackendProvider({ backend, children }: { backend: Backend; children: ReactNode }) {
  return <BackendContext.Provider value={backend}>{children}</BackendContext.Provider>;
}

export function useBackend(): Backend {
  const backend = useContext(BackendContext);
  if (!backend) throw new Error("useBackend outside a BackendProvider");
  return backend;
}

export interface Notifications {
  /** Shows an error (a QuireError's code in plain words, or `headline` when the code's words
   *  would misname what the user did: a transform runs as SQL but is not a query). */
  report(e: unknown, headline?: string): void;
  /** Shows a confirmation or a hint. */
  inform(headline: string, detail?: string): void;
}

const NotificationsContext = createContext<Notifications | null>(null);

export function NotificationsProvider({ value, children }: { value: Notifications; children: ReactNode }) {
  return <NotificationsContext.Provider value={value}>{children}</NotificationsContext.Provider>;
}

export function useNotify(): Notifications {
  const notify = useContext(NotificationsContext);
  if (!notify) throw new Error("useNotify outside a NotificationsProvider");
  return notify;
}

interface Store {
  state: State;
  dispatch: Dispatch<Action>;
}

const StoreContext = createContext<Store | null>(null);

/** The app store, and notifications that show as its toasts. */
export function StoreProvider({ initial = initialState, children }: { initial?: State; children: ReactNode }) {
  const [state, dispatch] = useReducer(reduce, initial);
  const report = useCallback((e: unknown, headline?: string) => {
    const text = describeError(QuireError.from(e));
    dispatch({ type: "toast", level: "error", text: headline ? { ...text, headline } : text });
  }, []);
  const inform = useCallback((headline: string, detail = "") => {
    dispatch({ type: "toast", level: "info", text: { headline, detail } });
  }, []);
  const notify = useMemo(() => ({ report, inform }), [report, inform]);
  const store = useMemo(() => ({ state, dispatch }), [state]);
  return (
    <StoreContext.Provider value={store}>
      <NotificationsProvider value={notify}>{children}</NotificationsProvider>
    </StoreContext.Provider>
  );
}

export function useStore(): Store {
  const store = useContext(StoreContext);
  if (!store) throw new Error("useStore outside a StoreProvider");
  return store;
}

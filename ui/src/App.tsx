import { useCallback, useEffect, useReducer } from "react";
import type { Backend } from "./backend";
import { QuireError } from "./backend";
import { describeError } from "./errors";
import { initialState, reduce } from "./store";
import { Sidebar } from "./components/Sidebar";
import { Toolbar } from "./components/Toolbar";
import { StatusBar } from "./components/StatusBar";
import { NotebookArea } from "./components/NotebookArea";
import { Toasts } from "./components/Toasts";

const METRICS_REFRESH_MS = 2000;

export function App({ backend }: { backend: Backend }) {
  const [state, dispatch] = useReducer(reduce, initialState);

  const report = useCallback((e: unknown) => {
    dispatch({ type: "toast", text: describeError(QuireError.from(e)) });
  }, []);

  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let cancelled = false;
    backend
      .onEngineEvents((batch) => dispatch({ type: "engine_events", batch }))
      .then((u) => (cancelled ? u() : (unlisten = u)))
      .catch(report);
    backend
      .appInfo()
      .then((info) => {
        dispatch({ type: "info", info });
        for (const w of info.startup_warnings) report(w);
      })
      .catch(report);
    backend
      .listNotebooks()
      .then((notebooks) => dispatch({ type: "notebooks", notebooks }))
      .catch(report);
    return () => {
      cancelled = true;
      unlisten?.();
    };
  }, [backend, report]);

  useEffect(() => {
    const refresh = () =>
      backend
        .metrics()
        .then((metrics) => dispatch({ type: "metrics", metrics }))
        .catch(() => {
          /* the readout keeps its last value; a failing refresh is not worth a toast */
        });
    void refresh();
    const timer = setInterval(refresh, METRICS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [backend]);

  const createNotebook = useCallback(
    async (title: string): Promise<boolean> => {
      try {
        const nb = await backend.createNotebook(title);
        dispatch({ type: "notebooks", notebooks: await backend.listNotebooks() });
        dispatch({ type: "select", id: nb.id });
        return true;
      } catch (e) {
        report(e);
        return false;
      }
    },
    [backend, report],
  );

  const selected = state.notebooks.find((n) => n.id === state.selected) ?? null;

  return (
    <div className="app">
      <Toolbar pending={0} onFlush={() => undefined} />
      <div className="main">
        <Sidebar
          notebooks={state.notebooks}
          selected={state.selected}
          onSelect={(id) => dispatch({ type: "select", id })}
          onCreate={createNotebook}
        />
        <NotebookArea notebook={selected} hasNotebooks={state.notebooks.length > 0} />
      </div>
      <StatusBar info={state.info} metrics={state.metrics} />
      <Toasts toasts={state.toasts} onDismiss={(id) => dispatch({ type: "dismiss", id })} />
    </div>
  );
}

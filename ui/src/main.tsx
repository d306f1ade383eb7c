import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { tauriBackend } from "./backend";
import { BackendProvider } from "./context";
import "./styles.css";
import { applyTheme, savedTheme } from "./theme";

applyTheme(savedTheme());

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <ErrorBoundary>
      <BackendProvider backend={tauriBackend}>
        <App />
      </BackendProvider>
    </ErrorBoundary>
  </StrictMode>,
);

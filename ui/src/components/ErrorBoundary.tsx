// A render error must not leave a blank window: say what happened and offer a reload (the
// engine keeps every change; the page catches up from it).
import { Component, type ReactNode } from "react";

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div className="modal" role="alert" data-testid="ui-error" style={{ margin: "40px auto" }}>
        <h2>The window ran into a problem</h2>
        <p>Your data is safe: everything you changed is kept by Quire's engine.</p>
        <pre className="error-text">{error.message}</pre>
        <button onClick={() => location.reload()}>Reload the window</button>
      </div>
    );
  }
}

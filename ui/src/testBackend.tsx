// Tests' stand-in for the engine: the methods a test gives, and for any other one a call that
// fails loudly naming it (so a test never passes by calling what it did not fake).
import type { ReactNode } from "react";
import type { Backend } from "./backend";
import { BackendProvider, NotificationsProvider, StoreProvider, type Notifications } from "./context";

export function backendOf(parts: Partial<Backend>): Backend {
  return new Proxy(parts, {
    get(target, key, receiver) {
      if (typeof key === "symbol" || key === "then" || key in target) return Reflect.get(target, key, receiver);
      return () => Promise.reject(new Error(`the fake backend has no ${key}`));
    },
  }) as Backend;
}

/** What the app provides around its components: the engine, a store, and notifications (the
 *  store's toasts unless a test gives its own to watch). */
export function Providers({ backend, notify, children }: { backend: Backend; notify?: Notifications; children: ReactNode }) {
  return (
    <BackendProvider backend={backend}>
      <StoreProvider>{notify ? <NotificationsProvider value={notify}>{children}</NotificationsProvider> : children}</StoreProvider>
    </BackendProvider>
  );
}

// Tests' stand-in for the engine: the methods a test gives, and for any other one a call that
// fails loudly naming it (so a test never passes by calling what it did not fake).
import type { Backend } from "./backend";

export function backendOf(parts: Partial<Backend>): Backend {
  return new Proxy(parts, {
    get(target, key, receiver) {
      if (typeof key === "symbol" || key === "then" || key in target) return Reflect.get(target, key, receiver);
      return () => Promise.reject(new Error(`the fake backend has no ${key}`));
    },
  }) as Backend;
}

import { useEffect } from "react";

/**
 * Subscribes while the component is mounted (and again when `subscribe` changes): `subscribe`
 * resolves to the function that stops it, which runs on unmount, or at once if the component
 * went away before the subscription was made. `subscribe` must be stable (useCallback); null
 * subscribes to nothing. `live()` tells `subscribe`, after it awaited, whether the component
 * still wants it. A failure to subscribe goes to `onError`.
 */
export function useSubscription(
  subscribe: ((live: () => boolean) => Promise<() => void>) | null,
  onError?: (e: unknown) => void,
): void {
  useEffect(() => {
    if (!subscribe) return;
    let stop: (() => void) | undefined;
    let cancelled = false;
    subscribe(() => !cancelled)
      .then((s) => (cancelled ? s() : (stop = s)))
      .catch((e: unknown) => onError?.(e));
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [subscribe, onError]);
}

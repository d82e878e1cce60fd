import { isGone } from './api';

/** How long a dropped stream waits before it is opened again (EventSource's usual retry). */
const RECONNECT_MS = 3000;

/**
 * Keeps one of the client's event streams open while a view shows it, as EventSource would, but
 * through @trainyard/client (same transport, cookie and errors as every other call): `follow`
 * reads the stream until it drops — then it is opened again after 3 s, with `reconnecting` told
 * first — or answers `true` once there is nothing more to follow. A 404 ends it too: what it follows
 * is gone (a run deleted, or opened from an old link), and opening it again would only ask again
 * every 3 s for as long as the page is open. `close` aborts it for good.
 */
export function keepFollowing(
  follow: (signal: AbortSignal) => Promise<boolean>,
  reconnecting: () => void,
  reconnectMs = RECONNECT_MS,
): { close(): void } {
  const controller = new AbortController();
  const { signal } = controller;
  void (async () => {
    while (!signal.aborted) {
      try {
        if (await follow(signal)) return;
      } catch (error) {
        // Aborted by close(), or the connection dropped: either way the loop decides.
        if (isGone(error)) return;
      }
      if (signal.aborted) return;
      reconnecting();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, reconnectMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  })();
  return { close: () => controller.abort() };
}

// The page talks to the API through @trainyard/client's browser-safe core: every route typed by
// the API's contracts, problem details as TrainyardApiError, retries of 429/503, AbortSignal and
// the event-stream iterators. Its zod layer stays out (tools/build-dashboard.mjs refuses any
// served module that imports zod or `node:`), so answers are typed, not re-validated, here.
import { TrainyardApiError, TrainyardClientCore, type TrainyardClientCoreOptions } from '@trainyard/client/browser';

/** Fired when the API answers 401: the page then asks for a key. */
export const UNAUTHORIZED_EVENT = 'trainyard:unauthorized';

/**
 * The page never holds a key: it signs in by trading one for the HttpOnly session cookie
 * (POST /v1/session), which every request sends (same origin, relative URLs). A 429 or 503 is
 * retried at most twice and never after more than 5 s: the page refreshes by itself anyway.
 */
const COOKIE_SESSION: TrainyardClientCoreOptions = {
  credentials: 'same-origin',
  retry: { retries: 2, maxDelayMs: 5_000 },
};

/**
 * The API the page was served by. A 401 (the session expired or was signed out elsewhere) hands
 * the page to the sign-in form, and the call that met it never settles: the view that asked must
 * not draw its error on top of the form.
 */
export const api = new TrainyardClientCore('', undefined, {
  ...COOKIE_SESSION,
  fetch: async (input, init) => {
    const response = await fetch(input, init);
    if (response.status !== 401) return response;
    document.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    return new Promise<Response>(() => undefined);
  },
});

/** For signing in and out, where a 401 is an answer (no session yet, a wrong key) rather than a reason to leave. */
export const sessionApi = new TrainyardClientCore('', undefined, COOKIE_SESSION);

/** An error as the page shows it: the status and the API's words, with the fields a 400 names. */
export function errorText(error: unknown): string {
  if (error instanceof TrainyardApiError) {
    // A field whose message the detail already says (a 409's blockers, an in-use conflict) is not said twice.
    const unsaid = error.errors.filter((e) => !error.detail.includes(e.message));
    return `${error.status} ${error.detail}${unsaid.length ? `: ${unsaid.map((e) => `${e.field} ${e.message}`).join('; ')}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The thing asked for does not exist (deleted, or an old link): asking again can only answer the
 * same, so views that refresh by themselves stop.
 */
export function isGone(error: unknown): boolean {
  return error instanceof TrainyardApiError && error.status === 404;
}

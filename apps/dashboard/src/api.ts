// Response shapes are the API's contracts (libs/contracts/src/http), imported as types only
// (`import type`): swc strips them, so the browser loads no zod and no module outside this folder.
import type { ProblemDetails } from '@trainyard/contracts';

/** Fired when the API answers 401: the page then asks for a key. */
export const UNAUTHORIZED_EVENT = 'trainyard:unauthorized';

/**
 * JSON over the API the page was served by; errors carry the API's message. The key travels in
 * the HttpOnly session cookie (POST /v1/session), which no script here can read.
 */
export async function getJson<T>(path: string): Promise<T> {
  return requestJson<T>('GET', path);
}

/** A change (PATCH, POST, DELETE) with an optional JSON body; answers the parsed reply like getJson. */
export async function sendJson<T>(method: 'PATCH' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  return requestJson<T>(method, path, body);
}

async function requestJson<T>(method: string, path: string, payload?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers:
      payload === undefined
        ? { accept: 'application/json' }
        : { accept: 'application/json', 'content-type': 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
    credentials: 'same-origin',
  });
  if (res.status === 401) {
    // The sign-in form takes the page over; the view that asked must not draw its error on top.
    document.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    return new Promise<T>(() => undefined);
  }
  const body: unknown = await res.json().catch(() => ({}));
  if (!res.ok) {
    const problem = body as Partial<ProblemDetails>;
    throw new Error(
      `${res.status} ${problem.message ?? res.statusText}${problem.errors ? `: ${problem.errors.map((e) => `${e.field} ${e.message}`).join('; ')}` : ''}`,
    );
  }
  return body as T;
}

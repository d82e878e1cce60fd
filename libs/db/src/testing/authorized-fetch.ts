import { newApiKeyToken } from '../api-key-token';

/** An admin key for a test's API (given to it as TRAINYARD_ADMIN_KEY). */
export function testAdminKey(): string {
  return newApiKeyToken();
}

/** `fetch` that sends `Authorization: Bearer <key>` unless the call sets its own Authorization. */
export function authorizedFetch(key: string): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
    return fetch(input, { ...init, headers });
  };
}

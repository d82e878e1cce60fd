import type { TestApi } from './test-api';

/** An answer: its status, its text, and its body parsed when it is JSON (its text otherwise). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies of many shapes; tests assert them field by field
export type KeyedReply = { status: number; body: any; text: string };

/** `method path` on the test API as the holder of `key` (a JSON body when given). */
export async function requestAs(
  api: TestApi,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<KeyedReply> {
  const res = await fetch(`${api.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    body: res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : text,
  };
}

/** A new key confined to `project` with `scopes`, made with the admin key; its token. */
export async function projectKey(api: TestApi, project: string, scopes = ['read', 'submit']): Promise<string> {
  const res = await requestAs(api, api.adminKey, 'POST', '/v1/keys', {
    name: `${project} ${scopes.join(' ')}`,
    scopes,
    project,
  });
  if (res.status !== 201) throw new Error(`POST /v1/keys answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/** Signs in with `key` (POST /v1/session) on the API at `baseUrl`: the `name=value` of the session cookie it sets. */
export async function signIn(baseUrl: string, key: string): Promise<string> {
  const res = await fetch(`${baseUrl}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  });
  if (res.status !== 200) throw new Error(`POST /v1/session answered ${res.status}: ${await res.text()}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

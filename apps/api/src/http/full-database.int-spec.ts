import { createConnectionLimitedRole, type ConnectionLimitedRole } from '@trainyard/db/testing';
import { startTestApi, type TestApi } from '../testing/test-api';
import { timedRequest } from '../testing/timed-request';
import { DATABASE_FULL_RETRY_AFTER_S } from './problem-details.filter';

const FULL = /The database refuses new connections: it has as many as it allows/;

/**
 * A PostgreSQL that is up but full: it refuses every new connection of the API's role ("too many
 * connections for role", 53300, as a server at `max_connections` says "too many clients already")
 * and has ended the ones the API held. Requests that need it answer 503 saying so, with a
 * Retry-After, not a 500; `/readyz` names it `full`; the API takes connections again by itself
 * once places free up. Before, every such request was a 500 "Internal server error".
 */
describe('API with a PostgreSQL that refuses new connections (too many connections)', () => {
  let role: ConnectionLimitedRole;
  let api: TestApi;

  beforeAll(async () => {
    role = await createConnectionLimitedRole();
    api = await startTestApi({ databaseUrl: (url) => role.urlFor(url) });
  });

  afterAll(async () => {
    await role?.accept();
    await api?.stop();
    await role?.drop();
  });

  const timed = (method: string, path: string, body?: unknown) => timedRequest(api, 30_000, method, path, body);
  const pretrain = (name: string) => ({ kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } });

  it('answers 503 saying the database is full, with Retry-After, and everything again once it takes connections', async () => {
    const before = await timed('POST', '/v1/runs', pretrain('before the database is full'));
    expect(before).toMatchObject({ status: 201, body: { status: 'QUEUED' } });
    const id = before.body['id'] as string;

    await role.refuse();
    try {
      for (const answer of await Promise.all([
        timed('GET', `/v1/runs/${id}`),
        timed('GET', '/v1/runs?limit=5'),
        timed('POST', '/v1/runs', pretrain('while the database is full')),
        timed('POST', `/v1/runs/${id}/cancel`),
      ])) {
        expect(answer).toMatchObject({ status: 503, body: { message: expect.stringMatching(FULL) } });
      }
      const res = await api.fetch(`${api.baseUrl}/v1/runs/${id}`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe(String(DATABASE_FULL_RETRY_AFTER_S));
      // The probe names the dependency and why, in a word (the driver's text goes to the log).
      expect(await timed('GET', '/readyz')).toMatchObject({
        status: 503,
        body: { checks: { database: { ok: false, error: 'full' }, redis: { ok: true } } },
      });
      expect(await timed('GET', '/healthz')).toMatchObject({ status: 200 });
    } finally {
      await role.accept();
    }

    // Places free: the API connects again by itself, and the run is as it was (the cancel did nothing).
    expect(await timed('GET', '/readyz')).toMatchObject({ status: 200 });
    expect(await timed('GET', `/v1/runs/${id}`)).toMatchObject({ status: 200, body: { status: 'QUEUED' } });
    const after = await timed('POST', '/v1/runs', pretrain('after the database is full'));
    expect(after).toMatchObject({ status: 201, body: { status: 'QUEUED' } });
    // The submit refused meanwhile wrote nothing: the runs are the one before and the one after.
    const runs = await timed('GET', '/v1/runs?limit=10');
    expect((runs.body['items'] as { name: string }[]).map((r) => r.name).sort()).toEqual([
      'after the database is full',
      'before the database is full',
    ]);
  });
});

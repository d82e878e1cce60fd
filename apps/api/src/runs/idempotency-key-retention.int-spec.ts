import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { startTestApi, type TestApi } from '../testing/test-api';

const DAY_MS = 86_400_000;
const spec = { kind: 'pretrain', name: 'keyed', dataset: { name: 'synthetic-shapes' } };

/**
 * The client and the CLI send an Idempotency-Key with every submit: kept as long as their runs, the
 * keys were a row for every run ever submitted. A keyed submit deletes those older than
 * IDEMPOTENCY_KEY_RETENTION_MS (7 days by default), without the submit waiting for it; younger
 * ones still replay.
 */
describe('Idempotency-Keys past IDEMPOTENCY_KEY_RETENTION_MS (real PostgreSQL, Redis)', () => {
  let api: TestApi;
  let pg: Client;

  beforeAll(async () => {
    api = await startTestApi();
    pg = new Client({ connectionString: api.config.database.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await api?.stop();
  });

  const submit = async (key: string): Promise<string> => {
    const res = await api.fetch(`${api.baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(spec),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  };
  const age = (key: string, days: number) =>
    pg.query(`UPDATE idempotency_keys SET created_at = now() - $2 * interval '1 day' WHERE key LIKE '%/' || $1`, [
      key,
      days,
    ]);
  const keysLeft = async (): Promise<string[]> =>
    (await pg.query(`SELECT key FROM idempotency_keys ORDER BY key`)).rows.map((r: { key: string }) =>
      r.key.slice(r.key.indexOf('/') + 1),
    );

  it('a keyed submit deletes the keys past retention, not their runs; younger keys still replay', async () => {
    expect(api.config.api.idempotencyKeyRetentionMs).toBe(7 * DAY_MS); // the default
    const tag = randomUUID().slice(0, 8);
    const old = [`${tag}-a-8-days`, `${tag}-b-30-days`, `${tag}-c-365-days`];
    const oldRuns = [];
    for (const key of old) oldRuns.push(await submit(key));
    await age(old[0]!, 8);
    await age(old[1]!, 30);
    await age(old[2]!, 365);
    const recent = `${tag}-d-6-days`;
    const recentRun = await submit(recent);
    await age(recent, 6);

    const next = `${tag}-e-now`;
    await submit(next);

    // The submit starts the delete and answers without waiting for it.
    let left = await keysLeft();
    for (const deadline = Date.now() + 10_000; left.length > 2 && Date.now() < deadline; left = await keysLeft())
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(left).toEqual([recent, next]);
    const runs = await pg.query(`SELECT count(*)::int AS n FROM runs WHERE id = ANY($1::uuid[])`, [oldRuns]);
    expect(runs.rows[0].n).toBe(3);
    // Within retention a retry gets its first run; past it the key is new again.
    expect(await submit(recent)).toBe(recentRun);
    expect(await submit(old[0]!)).not.toBe(oldRuns[0]);
  });

  it('marks a replay with Idempotent-Replayed: true, which the first answer has not', async () => {
    const key = `replayed-${randomUUID()}`;
    const post = () =>
      api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(spec),
      });
    const first = await post();
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await post();
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(await first.json());
  });
});

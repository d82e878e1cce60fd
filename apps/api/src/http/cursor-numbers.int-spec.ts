import { startTestApi, type TestApi } from '../testing/test-api';

const ID = '00000000-0000-4000-8000-000000000001';
/** Spellings of a number that are not the one the API writes: each is a forged cursor. */
const NUMBERS = ['0x10', '1e3', ' 1', '-0', '9'.repeat(400)];
const cursor = (fields: Record<string, unknown>) => Buffer.from(JSON.stringify(fields)).toString('base64url');

/**
 * A cursor comes back from the client: a number inside it that the API never wrote (hex, an
 * exponent, a space, a sign, 400 digits) is a 400 naming `cursor`, over real HTTP against a fresh
 * PostgreSQL, never a page read from a position nobody was given nor a 500 from the query.
 */
describe('numbers inside list cursors (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const refused = async (path: string) => {
    const response = await api.fetch(`${api.baseUrl}${path}`);
    const body = (await response.json()) as { errors?: { field: string }[] };
    return { path, status: response.status, fields: body.errors?.map((e) => e.field) };
  };

  it.each(NUMBERS)('GET /v1/runs with a cursor whose time is %j: 400 naming cursor', async (value) => {
    const path = `/v1/runs?cursor=${cursor({ s: 'createdAt:desc', v: value, i: ID })}`;
    expect(await refused(path)).toEqual({ path, status: 400, fields: ['cursor'] });
  });

  it.each(NUMBERS)(
    'GET /v1/{pipelines,sweeps,datasets} with a cursor whose time is %j: 400 naming cursor',
    async (value) => {
      for (const list of ['pipelines', 'sweeps', 'datasets']) {
        const path = `/v1/${list}?cursor=${cursor({ k: list, t: value, i: ID })}`;
        expect(await refused(path)).toEqual({ path, status: 400, fields: ['cursor'] });
      }
    },
  );

  it.each(['0x10', ' 1', '9'.repeat(400), '1e999', '+1', '1_0'])(
    'GET /v1/runs sorted by a metric with a cursor whose value is %j: 400 naming cursor',
    async (value) => {
      const path = `/v1/runs?sort=metric:loss:best&order=asc&cursor=${cursor({ s: 'metric:loss:best:asc', v: value, i: ID })}`;
      expect(await refused(path)).toEqual({ path, status: 400, fields: ['cursor'] });
    },
  );
});

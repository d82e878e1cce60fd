import { cli, json, scriptedApi, type Route } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const TWIN = '1a2b3c4d-ffff-4a7b-8c9d-0e1f2a3b4c5d';
const row = (id: string, name = 'ae') => ({
  id,
  name,
  kind: 'PRETRAIN',
  status: 'SUCCEEDED',
  tags: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  summaries: [],
  result: null,
});

/** `GET /v1/runs?idPrefix=…` as the API answers it: the runs of `ids` whose id starts with the prefix. */
const byPrefix =
  (...ids: string[]): Route =>
  (req, res, url) => {
    const prefix = url.searchParams.get('idPrefix') ?? '';
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const matching = ids.filter((id) => id.replace(/-/g, '').startsWith(prefix));
    json({ items: matching.slice(0, limit).map((id) => row(id)), nextCursor: matching.length > limit ? 'next' : null })(
      req,
      res,
      url,
    );
  };

describe('run ids: a unique prefix (the short id `workers` and `compare` print) names a run', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());
  const env = () => ({ TRAINYARD_URL: api!.url });

  it('show 1a2b3c4d: looks the prefix up once, then asks for the run by its whole id', async () => {
    api = await scriptedApi({ 'GET /v1/runs': byPrefix(RUN), [`GET /v1/runs/${RUN}`]: json(row(RUN)) });
    const result = await cli(['show', '1a2b3c4d', '--json'], env());
    expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({ id: RUN });
    expect(api.seen).toEqual([`GET /v1/runs?idPrefix=1a2b3c4d&archived=any&limit=5`, `GET /v1/runs/${RUN}`]);
  });

  it('takes the prefix in either case and with the dashes of the id as printed', async () => {
    api = await scriptedApi({ 'GET /v1/runs': byPrefix(RUN, TWIN), [`POST /v1/runs/${RUN}/cancel`]: json(row(RUN)) });
    const result = await cli(['cancel', '1A2B3C4D-5E', '--json'], env());
    expect(result).toMatchObject({ code: EXIT.OK, stderr: '' });
    expect(api.seen).toEqual([`GET /v1/runs?idPrefix=1a2b3c4d5e&archived=any&limit=5`, `POST /v1/runs/${RUN}/cancel`]);
  });

  it('a whole id goes straight to the run: no lookup', async () => {
    api = await scriptedApi({ [`GET /v1/runs/${RUN}`]: json(row(RUN)) });
    expect((await cli(['show', RUN.toUpperCase(), '--json'], env())).code).toBe(EXIT.OK);
    expect(api.seen).toEqual([`GET /v1/runs/${RUN}`]);
  });

  it('an ambiguous prefix is a usage error listing the runs that share it, nothing done to any', async () => {
    api = await scriptedApi({ 'GET /v1/runs': byPrefix(RUN, TWIN) });
    const result = await cli(['rm', '1a2b3c4d', '--json'], env());
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('trainyard: run id 1a2b3c4d is ambiguous: 2 runs start with it:');
    expect(result.stderr).toContain(`  ${RUN}  SUCCEEDED`);
    expect(result.stderr).toContain(`  ${TWIN}  SUCCEEDED`);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { title: 'Usage error', errors: [{ field: 'run' }] } });
    expect(api.seen).toEqual([`GET /v1/runs?idPrefix=1a2b3c4d&archived=any&limit=5`]);
  });

  it('says "more than" when more runs share it than it lists', async () => {
    const many = Array.from({ length: 7 }, (_, i) => `abcd000${i}-0000-4000-8000-000000000000`);
    api = await scriptedApi({ 'GET /v1/runs': byPrefix(...many) });
    const result = await cli(['show', 'abcd'], env());
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('run id abcd is ambiguous: more than 5 runs start with it:');
    expect(result.stderr).toContain('… and more');
  });

  it('a prefix no run has is not found (exit 2, as the API answers an unknown id)', async () => {
    api = await scriptedApi({ 'GET /v1/runs': byPrefix(RUN) });
    const result = await cli(['download', 'deadbeef'], env());
    expect(result).toMatchObject({ code: EXIT.API, stderr: 'trainyard: no run has an id starting with deadbeef\n' });
  });

  it.each([['abc'], ['xyz12345'], ['1a2b%'], ['1a2b3c4d5e6f-'], ['1a2b3c4d-5e6f4a7b']])(
    '%s is a usage error naming what a run id is, nothing sent',
    async (text) => {
      api = await scriptedApi({});
      const result = await cli(['watch', text], env());
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toContain(`"${text}" is not a run id: give the whole id or its first 4 or more hex digits`);
      expect(api.seen).toEqual([]);
    },
  );

  it('resolves every run compare is given, and the run models register names', async () => {
    const other = '99999999-0000-4000-8000-000000000000';
    api = await scriptedApi({
      'GET /v1/runs': byPrefix(RUN, other),
      'GET /v1/runs/compare': json({ names: [], runs: [] }),
      'POST /v1/models': (req, res, url) => {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () =>
          json({ ...JSON.parse(body), version: 1, checkpointSequence: 2, models: ['encoder'] }, 201)(req, res, url),
        );
      },
    });
    expect((await cli(['compare', '1a2b3c4d', '9999', '--json'], env())).code).toBe(EXIT.OK);
    expect(api.seen.at(-1)).toBe(`GET /v1/runs/compare?ids=${encodeURIComponent(`${RUN},${other}`)}&maxPoints=10`);
    const registered = await cli(['models', 'register', 'digits', '1a2b3c4d', '--json'], env());
    expect(registered.code).toBe(EXIT.OK);
    expect(JSON.parse(registered.stdout)).toMatchObject({ name: 'digits', runId: RUN });
  });
});

describe('ids of datasets, pipelines, sweeps and keys: only runs take a prefix', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  it.each([
    [['datasets', 'show', '6f96aa7a'], 'dataset', 'datasets'],
    [['datasets', 'rm', '6f96aa7a'], 'dataset', 'datasets'],
    [['pipelines', 'show', '05ee2bbe'], 'pipeline', 'pipelines'],
    [['pipelines', 'cancel', '05ee2bbe'], 'pipeline', 'pipelines'],
    [['sweeps', '94c8d869'], 'sweep', 'sweeps'],
    [['sweeps', 'show', '94c8d869'], 'sweep', 'sweeps'],
    [['sweeps', 'cancel', '94c8d869'], 'sweep', 'sweeps'],
    [['keys', 'revoke', '0b644dd4'], 'key', 'keys'],
  ])(
    '%j: a short id is a usage error saying to give the whole one, nothing sent (exit 1)',
    async (argv, what, lists) => {
      api = await scriptedApi({});
      const result = await cli(argv, { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toBe(
        `trainyard: "${argv.at(-1)}" is not a ${what} id: give the whole id, as \`trainyard ${lists}\` prints it (only runs are named by a prefix)\n`,
      );
      expect(api.seen).toEqual([]);
    },
  );
});

import { cli, json, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

describe('trainyard datasets (the list)', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  const row = (n: number) => ({
    id: `00000000-0000-4000-8000-00000000000${n}`,
    name: `set ${n}`,
    project: 'default',
    location: { kind: 's3', prefix: `sets/${n}/` },
    uri: `s3://bucket/sets/${n}/`,
    classCount: 500 + n,
    firstClassNames: ['a', 'b'],
    images: 1000 + n,
    uploadedBytes: n === 2 ? 3 * 1024 ** 3 : null,
    createdAt: '2026-01-01T00:00:00.000Z',
  });

  it('pages as the other lists do: the class count, `more: --cursor C`, --cursor sent, --all follows every page', async () => {
    api = await scriptedApi({
      'GET /v1/datasets': (req, res, url) =>
        json(
          url.searchParams.get('cursor') === 'c2'
            ? { items: [row(3)], nextCursor: null }
            : { items: [row(1), row(2)], nextCursor: 'c2' },
        )(req, res, url),
    });
    const env = { TRAINYARD_URL: api.url };
    const first = await cli(['datasets', '--limit', '2'], env);
    expect(first.code).toBe(EXIT.OK);
    expect(first.stdout).toMatch(/set 1\s+501\s+1001\s+-\s+s3:\/\/bucket\/sets\/1\//);
    // An upload's bytes against the project's quota.
    expect(first.stdout).toMatch(/set 2\s+502\s+1002\s+3\.0 GiB\s+s3:\/\/bucket\/sets\/2\//);
    expect(first.stdout.trimEnd().split('\n').at(-1)).toBe('more: --cursor c2');
    const last = await cli(['datasets', '--limit', '2', '--cursor', 'c2'], env);
    expect(last.stdout).toContain('set 3');
    expect(last.stdout).not.toContain('more:');
    expect(JSON.parse((await cli(['datasets', '--json'], env)).stdout)).toEqual({
      items: [row(1), row(2)],
      nextCursor: 'c2',
    });
    expect(JSON.parse((await cli(['datasets', '--all', '--json'], env)).stdout)).toEqual({
      items: [row(1), row(2), row(3)],
      nextCursor: null,
    });
    expect(api.seen).toEqual([
      'GET /v1/datasets?limit=2',
      'GET /v1/datasets?limit=2&cursor=c2',
      'GET /v1/datasets',
      'GET /v1/datasets',
      'GET /v1/datasets?cursor=c2',
    ]);
  });

  it.each([
    [['--limit', '101'], '--limit', '--limit expects a whole number of rows from 1 to 100, got "101"'],
    [['--limit', '0'], '--limit', '--limit expects a whole number of rows from 1 to 100, got "0"'],
    [['show', 'x', '--limit', '5'], '--limit', '--limit goes with the list (`datasets` alone), not `datasets show`'],
    [['rm', 'x', '--all'], '--all', '--all goes with the list (`datasets` alone), not `datasets rm`'],
  ])('%j is a usage error naming %s, nothing sent', async (args, field, message) => {
    api = await scriptedApi({});
    const result = await cli(['datasets', ...args, '--json'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(`trainyard: ${message}`);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { errors: [{ field }] } });
    expect(api.seen).toEqual([]);
  });
});

import { cli, json, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

describe('trainyard ls', () => {
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());

  const item = (n: number, summaries: { name: string }[] = []) => ({
    id: `00000000-0000-4000-8000-00000000000${n}`,
    name: `run ${n}`,
    kind: 'FINETUNE',
    status: 'SUCCEEDED',
    tags: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    summaries: summaries.map((s) => ({ last: 0.5, best: 0.25, bestStep: 1, count: 1, ...s })),
    result: null,
  });

  it.each([
    [['--status', 'DONE'], '--status takes QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED or PREEMPTED, got "DONE"'],
    [['--kind', 'train'], '--kind takes PRETRAIN, FINETUNE or EVALUATE, got "train"'],
    [['--limit', '0'], '--limit expects a whole number of rows from 1 to 200, got "0"'],
    [['--limit', '201'], '--limit expects a whole number of rows from 1 to 200, got "201"'],
    [
      ['--limit', 'abc'],
      '--limit: Expected a whole number in decimal digits (0-9), without sign, spaces, exponent, point or leading zero, got "abc"',
    ],
    [['--order', 'up'], '--order takes asc or desc, got "up"'],
    [['--archived', 'yes'], '--archived takes false, true or any, got "yes"'],
    [['--sort', 'val_accuracy'], '--sort takes createdAt or metric:<name>:<best|last|min|max>, got "val_accuracy"'],
    [['--tag', 'Bad Tag'], '"Bad Tag" is not a valid tag: Expected a lowercase tag'],
  ])('%j is a usage error naming the flag and what it takes, nothing sent', async (flags, message) => {
    api = await scriptedApi({});
    const result = await cli(['ls', ...flags, '--json'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(`trainyard: ${message}`);
    expect(JSON.parse(result.stdout)).toMatchObject({
      error: { title: 'Usage error', errors: [{ field: flags[0] }] },
    });
    expect(api.seen).toEqual([]);
  });

  it.each([
    ['models', '101'],
    ['pipelines', '0'],
    ['sweeps', '101'],
  ])('%s --limit %s is a usage error: the catalog lists take 1 to 100, nothing sent', async (list, limit) => {
    api = await scriptedApi({});
    const result = await cli([list, '--limit', limit], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain(`--limit expects a whole number of rows from 1 to 100, got "${limit}"`);
    expect(api.seen).toEqual([]);
  });

  it('cuts a long name on whole characters (an emoji is never split in half), by terminal columns', async () => {
    api = await scriptedApi({
      'GET /v1/runs': json({ items: [{ ...item(1), name: `${'a'.repeat(46)}${'🐈'.repeat(10)}` }], nextCursor: null }),
    });
    const result = await cli(['ls'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.OK);
    expect(result.stdout).toContain(`${'a'.repeat(46)}…`);
    expect(result.stdout).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('takes a status or kind in any case, as the API does', async () => {
    api = await scriptedApi({ 'GET /v1/runs': json({ items: [], nextCursor: null }) });
    expect((await cli(['ls', '--status', 'succeeded', '--kind', 'finetune'], { TRAINYARD_URL: api.url })).code).toBe(
      EXIT.OK,
    );
    expect(api.seen).toEqual(['GET /v1/runs?status=SUCCEEDED&kind=FINETUNE&limit=20']);
  });

  it('pages as the other lists do: `more: --cursor C` after the table, --cursor sent, nextCursor in the JSON', async () => {
    api = await scriptedApi({
      'GET /v1/runs': (req, res, url) =>
        json(
          url.searchParams.get('cursor') === 'c2'
            ? { items: [item(3)], nextCursor: null }
            : { items: [item(1), item(2)], nextCursor: 'c2' },
        )(req, res, url),
    });
    const env = { TRAINYARD_URL: api.url };
    const first = await cli(['ls', '--limit', '2'], env);
    expect(first.code).toBe(EXIT.OK);
    expect(first.stdout.trimEnd().split('\n').at(-1)).toBe('more: --cursor c2');
    const last = await cli(['ls', '--limit', '2', '--cursor', 'c2'], env);
    expect(last.stdout).toContain('run 3');
    expect(last.stdout).not.toContain('more:');
    expect(JSON.parse((await cli(['ls', '--limit', '2', '--json'], env)).stdout)).toEqual({
      items: [item(1), item(2)],
      nextCursor: 'c2',
    });
    // --all follows the pages itself: every run, and no cursor left.
    expect(JSON.parse((await cli(['ls', '--all', '--json'], env)).stdout)).toEqual({
      items: [item(1), item(2), item(3)],
      nextCursor: null,
    });
    expect(api.seen).toEqual([
      'GET /v1/runs?limit=2',
      'GET /v1/runs?limit=2&cursor=c2',
      'GET /v1/runs?limit=2',
      'GET /v1/runs?limit=20',
      'GET /v1/runs?limit=20&cursor=c2',
    ]);
  });

  it('warns (exit 0) when no run listed has the metric it sorts by, naming the metrics they have', async () => {
    api = await scriptedApi({
      'GET /v1/runs': json({
        items: [item(1, [{ name: 'val_accuracy' }]), item(2, [{ name: 'loss' }])],
        nextCursor: null,
      }),
    });
    const typo = await cli(['ls', '--sort', 'metric:val_acc:best'], { TRAINYARD_URL: api.url });
    expect(typo).toMatchObject({ code: EXIT.OK });
    expect(typo.stderr).toBe(
      'trainyard: warning: no run listed has a metric "val_acc" to sort by (their metrics: loss, val_accuracy)\n',
    );
    const right = await cli(['ls', '--sort', 'metric:val_accuracy:best'], { TRAINYARD_URL: api.url });
    expect(right).toMatchObject({ code: EXIT.OK, stderr: '' });
  });
});

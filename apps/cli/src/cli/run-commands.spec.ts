import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { COMPARE_MAX_RUNS } from '@trainyard/contracts';
import { cli, json, openEventStream, scriptedApi } from '../testing/scripted-api';
import { EXIT } from './exit-codes';

const RUN = '5d6e7f80-9a1b-4c2d-8e3f-405162738495';
/** Two more runs, for compare. */
const [A, B] = ['0a000000-0000-4000-8000-000000000000', '0b000000-0000-4000-8000-000000000000'];
const LOGS = `GET /v1/runs/${RUN}/logs`;
const line = (n: number) => ({
  t: `2026-01-01T00:00:0${n}.000Z`,
  attempt: 1,
  source: 'worker',
  level: 'info',
  msg: `line ${n}`,
});

describe('run commands', () => {
  const home = mkdtempSync(join(tmpdir(), 'trainyard-run-commands-'));
  let api: Awaited<ReturnType<typeof scriptedApi>> | undefined;
  afterEach(() => api?.close());
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  describe('submit --idempotency-key', () => {
    const shapes = { name: 'synthetic-shapes', imageSize: 16, perClass: 20 };
    const pipeline = {
      name: 'p',
      pretrain: {
        name: 'ae',
        dataset: shapes,
        model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4], latentDim: 8 },
      },
      finetunes: [{ name: 'ft', dataset: shapes }],
    };
    const sweep = {
      name: 's',
      base: { name: 'ft', dataset: shapes },
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.01, 0.001] },
    };

    it.each([
      ['pipeline', pipeline],
      ['sweep', sweep],
    ])('is refused (exit 1, nothing sent) for a %s spec: only runs take a key', async (kind, spec) => {
      api = await scriptedApi({});
      const file = join(home, `${kind}.yaml`);
      writeFileSync(file, stringify(spec));
      const result = await cli(['submit', file, '--idempotency-key', 'k-1'], { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toContain(`--idempotency-key applies to runs only; ${file} is a ${kind} spec`);
      expect(api.seen).toEqual([]);
    });

    it('is sent with a run spec', async () => {
      let key: string | undefined;
      api = await scriptedApi({
        'POST /v1/runs': (req, res, url) => {
          key = req.headers['idempotency-key'] as string;
          json({ id: RUN, status: 'QUEUED' }, 201)(req, res, url);
        },
      });
      const file = join(home, 'run.yaml');
      writeFileSync(file, stringify({ ...pipeline.pretrain, kind: 'pretrain' }));
      const result = await cli(['submit', file, '--idempotency-key', 'k-2'], { TRAINYARD_URL: api.url });
      expect(result).toMatchObject({ code: EXIT.OK, stdout: `submitted run ${RUN}\n` });
      expect(key).toBe('k-2');
    });

    it('a submit the API answers as a replay of one with the same key says the run was already submitted', async () => {
      let answered = 0;
      api = await scriptedApi({
        'POST /v1/runs': (_req, res) => {
          // As the API does: the same 201 and body both times, the repeat marked by a header.
          res.writeHead(201, {
            'content-type': 'application/json',
            ...(answered++ ? { 'idempotent-replayed': 'true' } : {}),
          });
          res.end(JSON.stringify({ id: RUN, status: 'QUEUED' }));
        },
      });
      const file = join(home, 'run.yaml');
      writeFileSync(file, stringify({ ...pipeline.pretrain, kind: 'pretrain' }));
      const submit = (...flags: string[]) =>
        cli(['submit', file, '--idempotency-key', 'k-3', ...flags], { TRAINYARD_URL: api!.url });
      expect(await submit()).toMatchObject({ code: EXIT.OK, stdout: `submitted run ${RUN}\n` });
      expect(await submit()).toMatchObject({
        code: EXIT.OK,
        stdout: `run ${RUN} (already submitted with this idempotency key: nothing new was made)\n`,
      });
      expect(JSON.parse((await submit('--json')).stdout)).toEqual({
        kind: 'run',
        id: RUN,
        status: 'QUEUED',
        replayed: true,
      });
    });
  });

  describe('logs -f', () => {
    it('resumes after the last line it printed when the stream drops, with no gap and no repeat', async () => {
      let streams = 0;
      api = await scriptedApi({
        [LOGS]: (_req, res, url) => {
          const send = openEventStream(res);
          if (++streams === 1) {
            send('line', line(1), 'c1');
            send('line', line(2), 'c2');
            setTimeout(() => res.socket?.destroy(), 100); // fetch: TypeError: terminated
            return;
          }
          // The server resumes after the cursor it is given.
          if (url.searchParams.get('after') !== 'c2') send('line', line(9), 'wrong');
          send('line', line(3), 'c3');
          res.end(`event: end\ndata: {}\n\n`);
        },
      });
      const result = await cli(['logs', RUN, '-f'], { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.OK);
      expect(
        result.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ').at(-1)),
      ).toEqual(['1', '2', '3']);
      expect(api.seen.filter((r) => r.startsWith(LOGS))).toEqual([
        `${LOGS}?follow=true`,
        `${LOGS}?after=c2&follow=true`,
      ]);
      expect(result.stderr).toMatch(
        /^trainyard: the connection to the API dropped: \S+; reconnecting in 1 s \(1 of 5\)\n$/,
      );
    }, 15_000);

    it('opens a stream the API ended early again, and fails with the answer it then gets (a revoked key: 401)', async () => {
      let streams = 0;
      api = await scriptedApi({
        [LOGS]: (_req, res, url) => {
          if (++streams === 1) {
            const send = openEventStream(res);
            send('line', line(1), 'c1');
            res.end(': this key was revoked\n\n'); // a clean end, without `event: end`
            return;
          }
          expect(url.searchParams.get('after')).toBe('c1');
          json({ statusCode: 401, message: 'Unknown or revoked API key' }, 401)(_req, res, url);
        },
      });
      const result = await cli(['logs', RUN, '-f'], { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.API);
      expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(result.stderr).toMatch(/^trainyard: the API ended the log stream early; reconnecting in 1 s \(1 of 5\)\n/);
      expect(result.stderr).toMatch(/401/);
      expect(streams).toBe(2);
    }, 15_000);

    it('fails at once, in one line naming the URL tried, when the API cannot be reached at all', async () => {
      const gone = await scriptedApi({});
      await gone.close(); // a port nothing listens on any more
      const result = await cli(['logs', RUN, '-f'], { TRAINYARD_URL: gone.url });
      expect(result).toMatchObject({
        code: EXIT.API,
        stderr: `trainyard: cannot reach the API at ${gone.url}: ECONNREFUSED (nothing listens there: is the server running? Else check --url, TRAINYARD_URL or \`trainyard login\`)\n`,
      });
    });
  });

  describe('submit - (the spec on stdin)', () => {
    const run = {
      kind: 'pretrain',
      name: 'ae',
      dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 20 },
      model: { type: 'conv-autoencoder', inputShape: [16, 16, 1], filters: [4], latentDim: 8 },
    };

    it.each([
      ['YAML', stringify(run)],
      ['JSON', JSON.stringify(run)],
    ])('reads %s from stdin', async (_format, stdin) => {
      let sent: unknown;
      api = await scriptedApi({
        'POST /v1/runs': (req, res, url) => {
          let body = '';
          req.on('data', (chunk) => (body += chunk));
          req.on('end', () => {
            sent = JSON.parse(body);
            json({ id: RUN, status: 'QUEUED' }, 201)(req, res, url);
          });
        },
      });
      const result = await cli(['submit', '-'], { TRAINYARD_URL: api.url }, { stdin });
      expect(result).toMatchObject({ code: EXIT.OK, stdout: `submitted run ${RUN}\n` });
      expect(sent).toEqual(run);
    });

    it('names stdin in the problems of JSON that is none, exit 1, nothing sent', async () => {
      api = await scriptedApi({});
      const result = await cli(['submit', '-'], { TRAINYARD_URL: api.url }, { stdin: '{ "kind": "pretrain", }' });
      expect(result).toMatchObject({
        code: EXIT.USAGE,
        stderr: '<stdin>:1:23: Expected double-quoted property name (not valid JSON)\n',
      });
      expect(api.seen).toEqual([]);
    });

    it('says a folder named as the spec is a folder', async () => {
      const folder = join(home, 'ds');
      mkdirSync(folder);
      expect(await cli(['submit', folder, '--dry-run'])).toMatchObject({
        code: EXIT.USAGE,
        stderr: `trainyard: ${folder} is a folder, expected a spec file\n`,
      });
    });
  });

  it.each([['metrics'], ['logs']])('%s --json: a failure is one JSON line, as what it prints', async (command) => {
    api = await scriptedApi({});
    const result = await cli([command, RUN, '--json'], { TRAINYARD_URL: api.url });
    expect(result.code).toBe(EXIT.API);
    expect(result.stdout.split('\n')).toEqual([expect.stringMatching(/^\{"error":\{.*"status":404/), '']);
  });

  describe('submit --json of a spec that does not validate', () => {
    it('prints each problem with its line and column as JSON on stdout, and file:line:column on stderr (exit 1, nothing sent)', async () => {
      api = await scriptedApi({});
      const file = join(home, 'typo.yaml');
      writeFileSync(
        file,
        [
          'kind: pretrain',
          'name: typo',
          'dataset: { name: synthetic-shapes, imageSize: 16, perClass: 20 }',
          'model: { type: conv-autoencoder, inputShape: [16, 16, 1], filters: [4], latentDim: 8 }',
          'training: { epochs: 0 }',
          '',
        ].join('\n'),
      );
      const result = await cli(['submit', file, '--json'], { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toBe(`${file}:5:13: training.epochs: Too small: expected number to be >=1\n`);
      const { error } = JSON.parse(result.stdout) as { error: { title: string; file: string; errors: unknown[] } };
      expect(error).toMatchObject({ title: 'Invalid spec', file });
      expect(error.errors).toContainEqual({
        field: 'training.epochs',
        message: 'Too small: expected number to be >=1',
        line: 5,
        column: 13,
      });
      expect(api.seen).toEqual([]);
    });
  });

  describe('compare: how many runs', () => {
    const ids = (n: number) =>
      Array.from({ length: n }, (_, i) => `0c${String(i).padStart(6, '0')}-0000-4000-8000-000000000000`);

    it('more runs than the API compares is a usage error naming the limit, before any lookup (exit 1)', async () => {
      api = await scriptedApi({});
      const result = await cli(['compare', ...ids(COMPARE_MAX_RUNS + 5)], { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.USAGE);
      expect(result.stderr).toBe(
        `trainyard: compare takes at most ${COMPARE_MAX_RUNS} runs, got ${COMPARE_MAX_RUNS + 5}\n`,
      );
      expect(api.seen).toEqual([]);
    });

    it(`compares ${COMPARE_MAX_RUNS}`, async () => {
      api = await scriptedApi({ 'GET /v1/runs/compare': json({ names: [], maxPoints: 10, runs: [] }) });
      expect((await cli(['compare', ...ids(COMPARE_MAX_RUNS)], { TRAINYARD_URL: api.url })).code).toBe(EXIT.OK);
    });
  });

  describe('names that match nothing', () => {
    const detail = {
      id: RUN,
      name: 'r',
      summaries: [
        { name: 'loss', last: 0.5, best: 0.25, bestStep: 1, count: 3 },
        { name: 'val_accuracy', last: 0.9, best: 0.95, bestStep: 2, count: 3 },
      ],
      attempts: [{ id: 'a1', runId: RUN, number: 1, outcome: 'SUCCEEDED' }],
    };

    it('compare --names: warns of a metric no run compared has, with the ones they have (exit 0)', async () => {
      const row = (id: string) => ({ run: { ...detail, id, status: 'SUCCEEDED' }, series: [] });
      api = await scriptedApi({
        'GET /v1/runs/compare': json({ names: ['val_acc', 'loss'], maxPoints: 10, runs: [row(A), row(B)] }),
      });
      const result = await cli(['compare', A, B, '--names', 'val_acc,loss'], { TRAINYARD_URL: api.url });
      expect(result.code).toBe(EXIT.OK);
      expect(result.stderr).toBe(
        'trainyard: warning: no run compared has a metric "val_acc" (their metrics: loss, val_accuracy)\n',
      );
      expect(api.seen).toHaveLength(1);
    });

    it('compare without --names: no warning for a default metric a run lacks', async () => {
      api = await scriptedApi({
        'GET /v1/runs/compare': json({
          names: ['loss', 'accuracy'],
          maxPoints: 10,
          runs: [{ run: { ...detail, id: A, status: 'SUCCEEDED' }, series: [] }],
        }),
      });
      expect(await cli(['compare', A, B], { TRAINYARD_URL: api.url })).toMatchObject({ code: EXIT.OK, stderr: '' });
    });

    it('metrics --names: warns of a metric the run has no point of, naming its metrics (one request more, only then)', async () => {
      api = await scriptedApi({
        [`GET /v1/runs/${RUN}/metrics`]: json({ points: [] }),
        [`GET /v1/runs/${RUN}`]: json(detail),
      });
      const result = await cli(['metrics', RUN, '--names', 'val_acc'], { TRAINYARD_URL: api.url });
      expect(result).toMatchObject({ code: EXIT.OK, stdout: 'name,step,epoch,value,wallTime,attemptId\n' });
      expect(result.stderr).toBe(
        `trainyard: warning: run ${RUN} has no metric "val_acc" (its metrics: loss, val_accuracy)\n`,
      );
      expect(api.seen).toEqual([`GET /v1/runs/${RUN}/metrics?names=val_acc`, `GET /v1/runs/${RUN}`]);
    });

    it('--names "loss, val_accuracy" (a space after the comma) names the metrics the run has: no warning, nothing asked more', async () => {
      const point = (name: string) => ({
        id: 1,
        runId: RUN,
        attemptId: 'a1',
        name,
        step: 1,
        epoch: 1,
        value: 0.5,
        wallTime: '2026-01-01T00:00:00.000Z',
      });
      const row = (id: string) => ({ run: { ...detail, id, status: 'SUCCEEDED' }, series: [] });
      api = await scriptedApi({
        [`GET /v1/runs/${RUN}/metrics`]: json({ points: [point('loss'), point('val_accuracy')] }),
        [`GET /v1/runs/${RUN}`]: json(detail),
        'GET /v1/runs/compare': json({ names: ['loss', 'val_accuracy'], maxPoints: 10, runs: [row(A), row(B)] }),
      });
      const exported = await cli(['metrics', RUN, '--names', 'loss, val_accuracy'], { TRAINYARD_URL: api.url });
      expect(exported).toMatchObject({ code: EXIT.OK, stderr: '' });
      const compared = await cli(['compare', A, B, '--names', 'loss, val_accuracy'], { TRAINYARD_URL: api.url });
      expect(compared).toMatchObject({ code: EXIT.OK, stderr: '' });
      expect(api.seen).toEqual([
        `GET /v1/runs/${RUN}/metrics?names=${encodeURIComponent('loss,val_accuracy')}`,
        `GET /v1/runs/compare?ids=${encodeURIComponent(`${A},${B}`)}&names=${encodeURIComponent('loss,val_accuracy')}&maxPoints=10`,
      ]);
    });

    it('logs --attempt: warns of an attempt the run never had, naming the ones it had', async () => {
      api = await scriptedApi({
        [LOGS]: json({ lines: [], complete: true, next: null }),
        [`GET /v1/runs/${RUN}`]: json(detail),
      });
      const result = await cli(['logs', RUN, '--attempt', '2'], { TRAINYARD_URL: api.url });
      expect(result).toMatchObject({ code: EXIT.OK, stdout: '' });
      expect(result.stderr).toBe(`trainyard: warning: run ${RUN} has no attempt 2 (its attempts: 1)\n`);
      // An attempt that exists, and printed lines: nothing more asked, nothing said.
      api.seen.length = 0;
      const one = await cli(['logs', RUN, '--attempt', '1'], { TRAINYARD_URL: api.url });
      expect(one).toMatchObject({ code: EXIT.OK, stderr: '' });
    });

    it('logs -f --attempt: the same once the stream has ended', async () => {
      api = await scriptedApi({
        [LOGS]: (_req, res) => {
          openEventStream(res);
          res.end('event: end\ndata: {}\n\n');
        },
        [`GET /v1/runs/${RUN}`]: json(detail),
      });
      const result = await cli(['logs', RUN, '-f', '--attempt', '3'], { TRAINYARD_URL: api.url });
      expect(result).toMatchObject({ code: EXIT.OK, stdout: '' });
      expect(result.stderr).toBe(`trainyard: warning: run ${RUN} has no attempt 3 (its attempts: 1)\n`);
    });
  });

  it('reports a stream dropped mid-answer in one line, exit 2 (no stack trace)', async () => {
    // `metrics` reads one JSON answer: a body cut short is no stream to resume.
    api = await scriptedApi({
      [`GET /v1/runs/${RUN}/metrics`]: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
        res.write('{"points": [');
        setTimeout(() => res.socket?.destroy(), 50);
      },
    });
    const result = await cli(['metrics', RUN], { TRAINYARD_URL: api.url });
    expect(result).toMatchObject({ code: EXIT.API, stdout: '' });
    expect(result.stderr).toMatch(/^trainyard: the connection to the API dropped: \S+\n$/);
  });
});

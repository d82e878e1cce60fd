import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { RunSpecSchema } from '@trainyard/contracts';
import type { Database } from '@trainyard/db';
import { hostileInputErrors } from '../validation/hostile-input';
import { startTestApi, type TestApi } from '../testing/test-api';
import { encodeAny, enumerateRoutes, fillPath, hostileString, queryString, type HttpRoute } from './hostile-requests';
import { DATABASE } from '@trainyard/infrastructure';

/**
 * Every request is hostile until checked (issue #9): the concrete probes that once took the
 * process down, as named regressions, then property-based fuzzing of every route the app
 * registers (read from its Express router, so a new route is fuzzed without touching this file):
 * path parameters, query strings, headers and JSON bodies. Whatever arrives, the API answers
 * below 500, stays alive (`/healthz` 200), leaves Object.prototype alone, and writes no row and
 * queues no job for a request it rejects.
 */
describe('hostile input (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let routes: HttpRoute[];
  let knownRunId: string;
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    // Thousands of requests a minute: the rate limit is not what is under test, validation is.
    api = await startTestApi({ env: { RATE_LIMIT_PER_MINUTE: '1000000' } });
    routes = enumerateRoutes(api.app);
    knownRunId = (
      await call('POST', '/v1/runs', {
        body: { kind: 'pretrain', name: 'fixture', dataset: { name: 'synthetic-shapes' } },
      })
    ).json.id;
    expect(knownRunId).toBeDefined();
  });

  afterAll(async () => {
    await api?.stop();
  });

  /** Headers of every authenticated call: the admin key, so the fuzz reaches validation. */
  const authHeaders = (): Record<string, string> => api.authHeaders;

  interface Reply {
    status: number;
    ms: number;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    json: any;
  }

  /**
   * One HTTP call. `body` is sent as JSON unless `rawBody` (any text) is given; `auth: false`
   * leaves the key out. Event streams are closed once their status is known.
   */
  async function call(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<Reply> {
    const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const headers = {
      ...(options.auth === false ? {} : authHeaders()),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    };
    const started = performance.now();
    const response = await fetch(`${api.baseUrl}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const type = response.headers.get('content-type') ?? '';
    let json: unknown = null;
    if (type.includes('text/event-stream')) await response.body?.cancel();
    else {
      const text = await response.text();
      json = type.includes('json') && text ? JSON.parse(text) : text;
    }
    return { status: response.status, ms: performance.now() - started, json };
  }

  /** Rows of every table a request may write, and jobs in every state of the API's queue. */
  async function written(): Promise<Record<string, number>> {
    const database = api.app.get<Database>(DATABASE);
    const tables = ['runs', 'datasets', 'pipelines', 'sweeps', 'model_versions'];
    const [row] = await database.prisma.$queryRawUnsafe<Record<string, bigint>[]>(
      `SELECT ${tables.map((t) => `(SELECT count(*) FROM "${t}") AS "${t}"`).join(', ')}`,
    );
    const jobs = await api.queue.getJobCounts();
    return {
      ...Object.fromEntries(Object.entries(row!).map(([k, v]) => [k, Number(v)])),
      ...Object.fromEntries(Object.entries(jobs).map(([k, v]) => [`jobs:${k}`, v])),
    };
  }

  /** The process is fine: health answers, a list answers, nothing was added to Object.prototype. */
  async function expectAlive(): Promise<void> {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await call('GET', '/healthz', { auth: false })).status).toBe(200);
    expect((await call('GET', '/v1/runs?limit=1')).status).toBe(200);
  }

  const fields = (reply: Reply): string[] => ((reply.json?.errors ?? []) as { field: string }[]).map((e) => e.field);

  describe('regressions of issue #9', () => {
    it.each([
      ['spec.__proto__.x=1', 'spec.__proto__.x'],
      ['spec.constructor.prototype.polluted=1', 'spec.constructor.prototype.polluted'],
      ['spec.training.__proto__=1', 'spec.training.__proto__'],
      ['spec.prototype=1', 'spec.prototype'],
    ])('GET /v1/runs?%s is a 400 naming the parameter, and every later request is fine', async (query, field) => {
      const reply = await call('GET', `/v1/runs?${query}`);
      expect(reply.status).toBe(400);
      expect(fields(reply)).toEqual([field]);
      await expectAlive();
      for (const route of routes.filter((r) => r.method === 'GET' && !r.path.includes(':'))) {
        expect((await call('GET', route.path)).status).toBeLessThan(500);
      }
    });

    it.each([1e6, 1e9])(
      'POST /v1/sweeps with maxRuns %d is a 400 naming maxRuns within 1 s, nothing written',
      async (maxRuns) => {
        const before = await written();
        const reply = await call('POST', '/v1/sweeps', {
          body: {
            name: 'huge',
            base: { name: 'b', dataset: { name: 'synthetic-shapes' } },
            strategy: 'random',
            parameters: { 'training.learningRate': { min: 1e-4, max: 1e-1 } },
            maxRuns,
          },
        });
        expect(reply.status).toBe(400);
        expect(fields(reply)).toEqual(['maxRuns']);
        expect(reply.ms).toBeLessThan(1000);
        expect(await written()).toEqual(before);
        await expectAlive();
      },
    );

    it('POST /v1/sweeps with a grid of 50 values for each of 9 parameters is sized, not expanded', async () => {
      const list = (f: (i: number) => unknown) => Array.from({ length: 50 }, (_, i) => f(i));
      const parameters = {
        'training.learningRate': list((i) => (i + 1) / 1000),
        'training.batchSize': list((i) => i + 1),
        'training.epochs': list((i) => i + 2),
        'training.seed': list((i) => i),
        'model.headUnits': list((i) => i),
        'model.dropout': list((i) => i / 100),
        'dataset.labelsPerClass': list((i) => i + 1),
        'augmentation.strength': list((i) => i / 50),
        'model.freezing.mode': ['none', 'base'],
      };
      const reply = await call('POST', '/v1/sweeps', {
        body: {
          name: 'grid',
          base: { name: 'b', dataset: { name: 'synthetic-shapes' } },
          strategy: 'grid',
          parameters,
          maxRuns: 200,
        },
      });
      expect(reply.status).toBe(400);
      expect(fields(reply)).toEqual(['maxRuns']);
      expect(reply.ms).toBeLessThan(3000);
    });

    it.each([
      ['NUL', 'run\u0000x'],
      ['a newline that would forge a log line', 'run\n[Nest] 1 - LOG run succeeded'],
      ['an escape sequence', '\u001b[2Jrun'],
      ['a lone surrogate', 'run\ud800'],
      ['a C1 control', 'run\u009b'],
      ['a right-to-left override (reverses the rest of a table row)', 'run\u202egnp.exe'],
      ['a right-to-left isolate', 'run\u2067x'],
      ['a left-to-right embedding', 'run\u202ax'],
      ['a first strong isolate', 'run\u2068x'],
    ])('a run name with %s is a 400 naming `name`, nothing written', async (_what, name) => {
      const before = await written();
      const reply = await call('POST', '/v1/runs', { body: { kind: 'pretrain', name, dataset: { name: 'mnist' } } });
      expect(reply.status).toBe(400);
      expect(fields(reply)).toEqual(['name']);
      expect(await written()).toEqual(before);
    });

    it.each([
      ['an OSC 52 clipboard write', '\u001b]52;c;cm0gLXJmIH4K\u0007', 'U+001B'],
      ['a right-to-left override', 'cat\u202egnp.exe', 'U+202E'],
    ])(
      'a folder registered with a class named with %s is a 422 naming the folder, nothing written',
      async (_what, className, code) => {
        const storage = api.config.storage;
        if (storage.driver !== 'local') throw new Error('expected the embedded local store');
        const prefix = `datasets/hostile-${code.slice(2)}/`;
        for (const file of [`${className}/1.png`, 'dog/2.png']) {
          mkdirSync(join(storage.root, prefix, file, '..'), { recursive: true });
          writeFileSync(join(storage.root, prefix, file), 'x');
        }
        const before = await written();
        const reply = await call('POST', '/v1/datasets', {
          body: { name: `hostile ${code}`, location: { kind: 's3', prefix } },
        });
        expect(reply.status).toBe(422);
        const [error] = reply.json.errors as { field: string; message: string }[];
        expect(error!.field).toBe('location');
        expect(error!.message).toContain(`class folder ${JSON.stringify(className).replace('\u202e', '\\u202e')}: `);
        expect(error!.message).toContain(code);
        expect(error!.message).not.toMatch(/[\u0000-\u001f\u202e]/);
        expect(await written()).toEqual(before);
      },
    );

    it.each([
      // Was: 201, then every run failed for good (`class 'a\\b' has no readable image`): no key may hold a backslash.
      ['a backslash', 'backslash', ['a\\b/1.png', 'dog/2.png'], 'class folder "a\\\\b": it contains "\\"'],
      // Was: two classes that look one (`café` precomposed, and e + U+0301 as HFS+ writes it).
      [
        'one name spelt two ways in Unicode',
        'nfc',
        ['caf\u00e9/1.png', 'cafe\u0301/2.png'],
        'class folders "cafe\u0301" (cafe\\u0301) and "caf\u00e9" (caf\\u00e9) are one name spelt two ways in Unicode',
      ],
    ])(
      'a folder registered with %s in its class folders is a 422 naming them, nothing written',
      async (_what, tag, files, named) => {
        const storage = api.config.storage;
        if (storage.driver !== 'local') throw new Error('expected the embedded local store');
        const prefix = `datasets/hostile-${tag}/`;
        for (const file of files) {
          mkdirSync(join(storage.root, prefix, file, '..'), { recursive: true });
          writeFileSync(join(storage.root, prefix, file), 'x');
        }
        const before = await written();
        const reply = await call('POST', '/v1/datasets', {
          body: { name: `hostile ${tag}`, location: { kind: 's3', prefix } },
        });
        expect(reply.status).toBe(422);
        const [error] = reply.json.errors as { field: string; message: string }[];
        expect(error!.field).toBe('location');
        expect(error!.message).toContain(named);
        expect(await written()).toEqual(before);
      },
    );

    it('control characters are refused in every registration and spec body, naming the field', async () => {
      const base = { name: 'b', dataset: { name: 'synthetic-shapes' } };
      const cases: [string, unknown, string][] = [
        ['/v1/datasets', { name: 'd\u0000', location: { kind: 's3', prefix: 'datasets/x/' } }, 'name'],
        ['/v1/datasets', { name: 'd', location: { kind: 'local', path: '/data/x\u0000y' } }, 'location.path'],
        ['/v1/models', { name: 'm\nx', runId: knownRunId }, 'name'],
        [
          '/v1/sweeps',
          { name: 's', base, strategy: 'grid', parameters: { 'model.freezing.mode': ['base\u0000'] } },
          'parameters.model.freezing.mode.0',
        ],
        [
          '/v1/sweeps',
          { name: 's', base, strategy: 'grid', parameters: { 'training.seed': [1] }, metric: 'acc\u001b' },
          'metric',
        ],
        [
          '/v1/pipelines',
          { name: 'p', pretrain: base, finetunes: [{ name: 'f\u2028', dataset: { name: 'synthetic-shapes' } }] },
          'finetunes.0.name',
        ],
      ];
      const before = await written();
      for (const [path, body, field] of cases) {
        const reply = await call('POST', path, { body });
        expect({ path, status: reply.status, fields: fields(reply) }).toEqual({ path, status: 400, fields: [field] });
      }
      expect(await written()).toEqual(before);
    });

    it.each([
      ['q=a%00b', 'q'],
      ['sort=metric:a%00b:best', 'sort'],
      ['spec.name=a%00b', 'spec.name'],
      ['cursor=!!not-base64!!', 'cursor'],
      [
        'cursor=' +
          Buffer.from('{"s":"createdAt:desc","v":"not a date","i":"6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"}').toString(
            'base64url',
          ),
        'cursor',
      ],
      [
        'cursor=' +
          Buffer.from(
            '{"s":"createdAt:desc","v":"2026-02-31 10:00:00+00","i":"6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"}',
          ).toString('base64url'),
        'cursor',
      ],
      [
        'sort=metric:loss:best&cursor=' +
          Buffer.from('{"s":"metric:loss:best:desc","v":"1e999","i":"6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"}').toString(
            'base64url',
          ),
        'cursor',
      ],
      [
        'sort=metric:loss:best&cursor=' +
          Buffer.from('{"s":"metric:loss:best:desc","v":"1e-999","i":"6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"}').toString(
            'base64url',
          ),
        'cursor',
      ],
      [
        'cursor=' +
          Buffer.from(
            '{"s":"createdAt:desc","v":"2026-01-01 00:00:00\\u0000","i":"6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"}',
          ).toString('base64url'),
        'cursor',
      ],
      ['limit=1&limit=2', 'limit'],
      ['cursor=a&cursor=b', 'cursor'],
      ['limit=1e309', 'limit'],
      ['limit=NaN', 'limit'],
      ['limit=-0', 'limit'],
      ['limit=Infinity', 'limit'],
      ['spec.training.seed=1&spec.training.seed=2', 'spec.training.seed'],
    ])('GET /v1/runs?%s is a 400 naming `%s`', async (query, field) => {
      const reply = await call('GET', `/v1/runs?${query}`);
      expect(reply.status).toBe(400);
      expect(fields(reply)).toContain(field);
    });

    const catalogCursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const id = '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5';
    it.each([
      ['models', 'NUL in the name', { k: 'models', n: '\u0000', p: 'a' }],
      ['models', 'NUL in the project', { k: 'models', n: 'a', p: 'default\u0000' }],
      ['models', 'an escape sequence', { k: 'models', n: '\u001b[2J', p: 'a' }],
      ['models', 'a C1 control', { k: 'models', n: 'a\u009b', p: 'a' }],
      ['models', 'a lone surrogate', { k: 'models', n: 'a\ud800', p: 'a' }],
      ['pipelines', 'the year 0 (no such year in PostgreSQL)', { k: 'pipelines', t: '0000-01-01T00:00:00Z', i: id }],
      ['sweeps', 'the year 0 (no such year in PostgreSQL)', { k: 'sweeps', t: '0000-06-30T12:00:00.000Z', i: id }],
      ['sweeps', 'NUL in the id', { k: 'sweeps', t: '2026-01-01T00:00:00Z', i: `${id}\u0000` }],
    ])('GET /v1/%s with a forged cursor holding %s is a 400 naming `cursor`', async (list, _what, value) => {
      const reply = await call('GET', `/v1/${list}?cursor=${catalogCursor(value)}`);
      expect({ status: reply.status, fields: fields(reply) }).toEqual({ status: 400, fields: ['cursor'] });
      await expectAlive();
    });

    it('a forged catalog cursor of the right shape still pages', async () => {
      for (const [list, value] of [
        ['models', { k: 'models', n: 'zz', p: 'default' }],
        ['models', { k: 'models', n: 'caf\u00e9 \ud83d\ude00', p: '' }],
        ['pipelines', { k: 'pipelines', t: '0001-01-01T00:00:00Z', i: id }],
        ['sweeps', { k: 'sweeps', t: '9999-12-31T23:59:59.999Z', i: id }],
      ] as const) {
        const reply = await call('GET', `/v1/${list}?cursor=${catalogCursor(value)}`);
        expect({ list, value, status: reply.status }).toEqual({ list, value, status: 200 });
      }
    });

    it('a forged cursor of the right shape on a metric sort still pages (NaN, Infinity are real values)', async () => {
      for (const v of ['NaN', '-Infinity', '0.5', '1e-05']) {
        const cursor = Buffer.from(
          JSON.stringify({ s: 'metric:loss:best:desc', v, i: '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5' }),
        ).toString('base64url');
        expect((await call('GET', `/v1/runs?sort=metric:loss:best&cursor=${cursor}`)).status).toBe(200);
      }
    });

    it('bad path parameters and numbers are 4xx, never 500', async () => {
      for (const path of [
        `/v1/runs/${knownRunId}/checkpoints/-0/files`,
        `/v1/runs/${knownRunId}/checkpoints/1e309/files`,
        `/v1/runs/${knownRunId}/checkpoints/NaN/files`,
        `/v1/runs/${knownRunId}/checkpoints/1/download?file=a%00b`,
        `/v1/runs/${knownRunId}/checkpoints/1/download?file=a&file=b`,
        '/v1/runs/%00',
        '/v1/runs/%ED%A0%80',
        '/v1/models/%00/versions',
        '/v1/models/a%0Ab/versions',
        '/v1/runs/compare?ids=%00',
        `/v1/runs/${knownRunId}/metrics?names=a%00b`,
        `/v1/runs/${knownRunId}/series?maxPoints=1e309`,
      ]) {
        const reply = await call('GET', path);
        expect({ path, status: reply.status < 500 && reply.status >= 400 }).toEqual({ path, status: true });
      }
      await expectAlive();
    });

    /**
     * Every numeric query and path parameter, as `{n}` in its route, with the parameter a 400 names.
     * What `Number()` took before (hex, exponents, signs, spaces, other scripts' digits, leading
     * zeros, a point, past 2^53, a list) is refused; the range messages stay.
     */
    const numericParameters = (): [string, string][] => {
      const dataset = '00000000-0000-4000-8000-000000000000';
      return [
        ['/v1/runs?limit={n}', 'limit'],
        ['/v1/pipelines?limit={n}', 'limit'],
        ['/v1/sweeps?limit={n}', 'limit'],
        ['/v1/models?limit={n}', 'limit'],
        ['/v1/keys?limit={n}', 'limit'],
        [`/v1/runs/${knownRunId}/metrics?maxPoints={n}`, 'maxPoints'],
        [`/v1/runs/${knownRunId}/series?maxPoints={n}`, 'maxPoints'],
        [`/v1/runs/compare?ids=${knownRunId}&maxPoints={n}`, 'maxPoints'],
        [`/v1/runs/${knownRunId}/logs?limit={n}`, 'limit'],
        [`/v1/runs/${knownRunId}/logs?attempt={n}`, 'attempt'],
        [`/v1/runs/${knownRunId}/logs?after=1-{n}-0`, 'after'],
        [`/v1/runs/${knownRunId}/checkpoints/{n}/files`, 'sequence'],
        [`/v1/runs/${knownRunId}/checkpoints/{n}/archive`, 'sequence'],
        [`/v1/datasets/${dataset}/samples/{n}/0`, 'class'],
        [`/v1/datasets/${dataset}/samples/0/{n}`, 'index'],
      ];
    };
    const NOT_DECIMAL = ['0x10', '1e1', '+5', '-0', ' 1', '1 ', '１', '٣', '00', '1.0', '9'.repeat(400)];

    it('numeric parameters take plain decimal digits only: anything else is a 400 naming the parameter', async () => {
      const wrong: unknown[] = [];
      const routes = [...numericParameters(), ['DELETE /v1/models/m/versions/{n}', 'version'] as [string, string]];
      for (const [route, parameter] of routes) {
        const [method, template] = route.startsWith('DELETE ') ? ['DELETE', route.slice(7)] : ['GET', route];
        for (const probe of NOT_DECIMAL) {
          const reply = await call(method, template.replace('{n}', encodeURIComponent(probe)));
          const named = [...new Set(fields(reply))];
          if (reply.status !== 400 || named.join() !== parameter)
            wrong.push({ route, probe, status: reply.status, named });
        }
        // The digits themselves still pass the parameter's check (the route may then say 404).
        const fine = await call(method, template.replace('{n}', '10'));
        if (fine.status === 400) wrong.push({ route, probe: '10', status: fine.status, json: fine.json });
      }
      expect(wrong).toEqual([]);
      await expectAlive();
    });

    it('a numeric query parameter given twice is a 400 naming it; the range messages stay', async () => {
      for (const [route, parameter] of numericParameters().filter(([route]) => route.includes('={n}'))) {
        const twice = await call('GET', route.replace('={n}', `=10&${parameter}=20`));
        expect({ route, status: twice.status, named: fields(twice) }).toEqual({
          route,
          status: 400,
          named: [parameter],
        });
      }
      const big = await call('GET', '/v1/runs?limit=1000000');
      expect(big.json.errors).toEqual([{ field: 'limit', message: 'Too big: expected number to be <=200' }]);
      const nines = await call('GET', `/v1/pipelines?limit=${'9'.repeat(400)}`);
      expect(nines.json.errors).toEqual([{ field: 'limit', message: 'Too big: expected number to be <=100' }]);
      const small = await call('GET', `/v1/runs/${knownRunId}/series?maxPoints=9`);
      expect(small.json.errors).toEqual([{ field: 'maxPoints', message: 'Too small: expected number to be >=10' }]);
    });

    it.each([
      ['1e309', 'training.epochs'],
      ['-1e309', 'training.epochs'],
      ['-0', 'training.epochs'],
      ['1e-400', 'training.epochs'],
      ['9007199254740993', 'training.epochs'],
    ])('a number like %s in a JSON body is a 400 naming the field', async (number, field) => {
      const rawBody = `{"kind":"pretrain","name":"n","dataset":{"name":"mnist"},"training":{"epochs":${number}}}`;
      const reply = await call('POST', '/v1/runs', { rawBody });
      expect({ status: reply.status, fields: [...new Set(fields(reply))] }).toEqual({ status: 400, fields: [field] });
    });

    it('NaN, Infinity and other non-JSON in a body are a 400, not a 500', async () => {
      for (const number of ['NaN', 'Infinity', '0x10', '1_000', '+1', '.5e']) {
        const rawBody = `{"kind":"pretrain","name":"n","dataset":{"name":"mnist"},"training":{"epochs":${number}}}`;
        expect({ number, status: (await call('POST', '/v1/runs', { rawBody })).status }).toEqual({
          number,
          status: 400,
        });
      }
    });

    it('an Idempotency-Key that is not 1-255 visible ASCII characters is a 400 naming it', async () => {
      const body = { kind: 'pretrain', name: 'idem', dataset: { name: 'mnist' } };
      const before = await written();
      for (const key of ['x'.repeat(256), 'caf\u00e9', 'a b', '']) {
        const reply = await call('POST', '/v1/runs', { body, headers: { 'idempotency-key': key } });
        expect({ key, status: reply.status, fields: fields(reply) }).toEqual({
          key,
          status: 400,
          fields: ['Idempotency-Key'],
        });
      }
      expect(await written()).toEqual(before);
    });

    it('a huge query string is refused, not served', async () => {
      const reply = await call('GET', `/v1/runs?q=${'x'.repeat(12_000)}`);
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      const many = Array.from({ length: 2000 }, (_, i) => `spec.f${i}=1`).join('&');
      const reply2 = await call('GET', `/v1/runs?${many}`);
      expect(reply2.status).toBeGreaterThanOrEqual(400);
      expect(reply2.status).toBeLessThan(500);
      await expectAlive();
    });

    it('a deeply nested body is a 4xx without a stack overflow', async () => {
      const depth = 30_000;
      const rawBody = `{"kind":"pretrain","name":"deep","dataset":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const reply = await call('POST', '/v1/runs', { rawBody });
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      const nested = `{"kind":"pretrain","name":"deep","dataset":{"name":"mnist"},"training":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`;
      const reply2 = await call('POST', '/v1/runs', { rawBody: nested });
      expect(reply2.status).toBe(400);
      await expectAlive();
    });

    it.each([
      [
        '__proto__',
        '{"kind":"pretrain","name":"p","dataset":{"name":"mnist"},"__proto__":{"polluted":1}}',
        '__proto__',
      ],
      [
        'constructor',
        '{"kind":"pretrain","name":"p","dataset":{"name":"mnist"},"constructor":{"prototype":{"polluted":1}}}',
        'constructor',
      ],
      [
        'nested __proto__',
        '{"kind":"pretrain","name":"p","dataset":{"name":"mnist"},"training":{"__proto__":{"polluted":1}}}',
        'training.__proto__',
      ],
      [
        'sweep parameter __proto__',
        '{"name":"s","base":{"name":"b","dataset":{"name":"mnist"}},"strategy":"grid","parameters":{"__proto__":{"polluted":[1]},"training.seed":[1]}}',
        'parameters.__proto__',
      ],
    ])('a JSON body with a %s key is a 400 naming it, never copied', async (_what, rawBody, field) => {
      const path = rawBody.includes('"strategy"') ? '/v1/sweeps' : '/v1/runs';
      const before = await written();
      const reply = await call('POST', path, { rawBody });
      expect(reply.status).toBe(400);
      expect(fields(reply)).toContain(field);
      expect(await written()).toEqual(before);
      await expectAlive();
    });

    it('names the API composes from a client name stay specs the worker accepts', async () => {
      const longName = `${'x'.repeat(118)}🌸`; // 120 UTF-16 units, the limit
      const shapes = { name: 'synthetic-shapes', imageSize: 16 };
      const reply = await call('POST', '/v1/pipelines', {
        body: {
          name: 'long',
          pretrain: { name: 'ae', dataset: shapes, model: { type: 'conv-autoencoder', inputShape: [16, 16, 1] } },
          finetunes: [{ name: longName, dataset: shapes }],
          evaluations: [{ split: 'validation' }],
        },
      });
      expect({ status: reply.status, errors: reply.json.errors }).toEqual({ status: 201, errors: undefined });
      for (const run of reply.json.runs as { id: string }[]) {
        const detail = await call('GET', `/v1/runs/${run.id}`);
        expect({ name: detail.json.spec.name, valid: RunSpecSchema.safeParse(detail.json.spec).success }).toEqual({
          name: detail.json.spec.name,
          valid: true,
        });
      }
    });

    it.each([
      ['homoglyphs, emoji and CJK', 'Ѕhapes аutoencoder 🌸 猫'],
      ['Arabic', 'أشكال قطط'],
      ['Hebrew', 'צורות חתולים'],
      ['an emoji sequence joined by U+200D ZERO WIDTH JOINER', 'run 👩\u200d💻'],
      ['Persian spelled with U+200C ZERO WIDTH NON-JOINER', 'می\u200cخواهم'],
    ])('names in any script are accepted: %s', async (_what, name) => {
      const reply = await call('POST', '/v1/runs', {
        body: { kind: 'pretrain', name, dataset: { name: 'synthetic-shapes' } },
      });
      expect(reply.status).toBe(201);
    });

    it('without a key, API routes are 401 whatever the Authorization header says', async () => {
      expect((await call('GET', '/v1/runs', { auth: false })).status).toBe(401);
      expect((await call('POST', '/v1/sweeps', { auth: false, body: { name: 'x' } })).status).toBe(401);
      await fc.assert(
        fc.asyncProperty(
          fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
          async (value) => {
            const reply = await call('GET', '/v1/runs', { auth: false, headers: { authorization: value } });
            expect(reply.status).toBe(401);
          },
        ),
        { numRuns: 40 },
      );
      await expectAlive();
    });
  });

  describe('fuzzing every route', () => {
    it('without a key: never 5xx, and every /v1 route but the session is 401 before its input is read', async () => {
      const request = fc.constantFrom(...routes).chain((route) =>
        fc.record({
          route: fc.constant(route),
          params: fc.array(
            // '', '.' and '..' change which route the URL names (the URL parser folds dot segments), and
            // a path that is not UTF-8 is refused by Express's router (400) before any route is chosen.
            hostileString().filter((p) => !['', '.', '..'].includes(p) && isWellFormed(p)),
            { minLength: route.params.length, maxLength: route.params.length },
          ),
          query: queryString(),
          bearer: fc.option(hostileString().map(encodeAny)),
        }),
      );
      await fc.assert(
        fc.asyncProperty(request, async ({ route, params, query, bearer }) => {
          const path = fillPath(route, params) + query;
          const reply = await call(route.method, path, {
            auth: false,
            headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` },
          });
          const request = `${route.method} ${path}`;
          expect({ request, serverError: reply.status >= 500 }).toEqual({ request, serverError: false });
          if (route.path.startsWith('/v1/') && !route.path.startsWith('/v1/session'))
            expect({ request, status: reply.status }).toEqual({ request, status: 401 });
        }),
        { numRuns: 150 },
      );
      await expectAlive();
    });

    it('finds the routes from the app itself', () => {
      const keys = routes.map((r) => `${r.method} ${r.path}`);
      for (const expected of [
        'GET /v1/runs',
        'POST /v1/runs',
        'POST /v1/sweeps',
        'POST /v1/pipelines',
        'POST /v1/datasets',
        'POST /v1/models',
        'GET /v1/runs/:id',
      ]) {
        expect(keys).toContain(expected);
      }
    });

    const paramValue = (name: string, method: string) =>
      fc.oneof(
        { weight: 3, arbitrary: hostileString() },
        { weight: 2, arbitrary: fc.uuid() },
        { weight: 1, arbitrary: fc.constantFrom('0', '-0', '1', '1e309', 'NaN', '-1', '2147483648', 'Infinity') },
        // The known run reaches past id validation; a POST to it (a cancel) would change it.
        ...(method === 'GET' && name === 'id'
          ? [{ weight: 2, arbitrary: fc.constant(null).map(() => knownRunId) }]
          : []),
      );

    const headerValue = fc.string({
      unit: fc
        .integer({ min: 0x20, max: 0xff })
        .filter((c) => c !== 0x7f)
        .map((c) => String.fromCharCode(c)),
      maxLength: 200,
    });
    const headers = fc.dictionary(
      fc.constantFrom(
        'idempotency-key',
        'accept',
        'if-none-match',
        'range',
        'last-event-id',
        'x-forwarded-for',
        'cookie',
        'accept-encoding',
        'x-request-id',
        'content-type',
      ),
      fc.oneof(
        headerValue,
        fc.constantFrom(
          'application/json; charset=utf-16',
          'application/x-www-form-urlencoded',
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
        ),
      ),
      { maxKeys: 3 },
    );

    it('never answers 5xx, stays alive and writes nothing for what it rejects', async () => {
      const before = await written();
      const request = fc.constantFrom(...routes).chain((route) =>
        fc.record({
          route: fc.constant(route),
          params: fc.tuple(...route.params.map((p) => paramValue(p, route.method)), fc.constant(null)),
          query: queryString(),
          headers,
          body: route.method === 'GET' ? fc.constant(undefined) : hostileBody(),
        }),
      );
      const accepted: string[] = [];
      let limited = 0;
      await fc.assert(
        fc.asyncProperty(request, async ({ route, params, query, headers: extra, body }) => {
          const path = fillPath(route, params.slice(0, -1) as string[]) + query;
          const reply = await call(route.method, path, { ...body, headers: extra });
          expect({
            request: `${route.method} ${path}`,
            status: reply.status,
            serverError: reply.status >= 500,
          }).toMatchObject({ serverError: false });
          if (route.method !== 'GET' && reply.status < 400) accepted.push(`${route.method} ${path} → ${reply.status}`);
          if (reply.status === 429) limited++;
        }),
        { numRuns: 600 },
      );
      expect(limited).toBe(0); // the fuzz reached the routes, not the rate limiter
      await expectAlive();
      // Random bodies never make a valid spec, and what succeeds (a logout, a cancel of an unknown
      // run is a 404) writes none of these: if a row appears, the accepted requests say which.
      expect({ rows: await written(), accepted }).toEqual({ rows: before, accepted });
    });

    it('POST bodies shaped like the real ones, with one hostile leaf or key: never 5xx, nothing hostile accepted, nothing written when rejected', async () => {
      const base = { name: 'b', dataset: { name: 'synthetic-shapes' } };
      const shaped = fc.oneof(
        fc.record({
          path: fc.constant('/v1/runs'),
          body: mutate({
            kind: 'finetune',
            name: 'r',
            dataset: { name: 'synthetic-shapes', perClass: 10 },
            training: { epochs: 2, learningRate: 0.001 },
            model: { type: 'classifier', freezing: { mode: 'two-stage' } },
          }),
        }),
        fc.record({
          path: fc.constant('/v1/sweeps'),
          body: mutate({
            name: 's',
            base,
            strategy: 'random',
            parameters: { 'training.learningRate': { min: 0.0001, max: 0.1 }, 'model.freezing.mode': ['none', 'base'] },
            maxRuns: 5,
          }),
        }),
        fc.record({
          path: fc.constant('/v1/pipelines'),
          body: mutate({
            name: 'p',
            pretrain: base,
            finetunes: [{ name: 'f', dataset: { name: 'synthetic-shapes' } }],
            evaluations: [{ split: 'test' }],
          }),
        }),
        fc.record({
          path: fc.constant('/v1/datasets'),
          body: mutate({ name: 'd', location: { kind: 's3', prefix: 'datasets/x/' } }),
        }),
        fc.record({
          path: fc.constant('/v1/models'),
          body: mutate({ name: 'm', runId: '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5' }),
        }),
      );
      await fc.assert(
        fc.asyncProperty(shaped, async ({ path, body }) => {
          const before = await written();
          const reply = await call('POST', path, { body });
          const request = `POST ${path} ${JSON.stringify(body)?.slice(0, 300)}`;
          expect({ request, status: reply.status, serverError: reply.status >= 500 }).toMatchObject({
            serverError: false,
          });
          // A mutation may leave the body valid (another printable name, a smaller maxRuns): then it
          // may be recorded, but only if nothing in it is hostile.
          if (reply.status < 400)
            expect({ request, hostile: hostileInputErrors(body) }).toEqual({ request, hostile: [] });
          else expect({ request, rows: await written() }).toEqual({ request, rows: before });
        }),
        { numRuns: 200 },
      );
      await expectAlive();
    });
  });

  /** A JSON body (or raw text that may not even parse), with hostile keys and values. */
  function hostileBody(): fc.Arbitrary<{ body?: unknown; rawBody?: string }> {
    const key = fc.oneof(
      hostileString(),
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'kind', 'maxRuns'),
    );
    const leaf = fc.oneof(
      hostileString(),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(1e9, -0, 2 ** 53, 1e308),
    );
    const json = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    return fc.oneof(
      json.map((body) => ({ body })),
      fc
        .oneof(hostileString(), fc.constantFrom('{', '{"a":', '[1,', 'null', '"x"', '{"__proto__":{"polluted":1}}'))
        .map((rawBody) => ({ rawBody })),
    );
  }

  /** `value` with one leaf replaced by something hostile, or one hostile key added somewhere. */
  function mutate(value: unknown): fc.Arbitrary<unknown> {
    const replacement = fc.oneof(
      hostileString(),
      fc.constantFrom(
        1e9,
        -1,
        0,
        -0,
        1e308,
        2 ** 53,
        '',
        null,
        true,
        [],
        {},
        Array.from({ length: 60 }, (_, i) => i),
        'x'.repeat(5000),
      ),
    );
    const paths = leafPaths(value);
    return fc.oneof(
      fc.record({ at: fc.constantFrom(...paths), to: replacement }).map(({ at, to }) => setAt(value, at, to)),
      fc
        .record({
          at: fc.constantFrom([] as string[], ...paths.map((p) => p.slice(0, -1))),
          key: fc.oneof(hostileString(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra')),
          to: replacement,
        })
        .map(({ at, key, to }) => setAt(value, [...at, key], to)),
    );
  }
});

function isWellFormed(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

function leafPaths(value: unknown, path: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [path];
  return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...path, k]));
}

/** A deep copy of `value` with `path` set; built with defineProperty so `__proto__` is an own key, as JSON.parse would make it. */
function setAt(value: unknown, path: string[], to: unknown): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (typeof next !== 'object' || next === null)
      Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
    node = node[key] as Record<string, unknown>;
  }
  if (path.length === 0) return to;
  Object.defineProperty(node, path[path.length - 1]!, {
    value: to,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

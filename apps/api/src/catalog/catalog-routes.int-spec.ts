import { randomUUID } from 'node:crypto';
import { get } from 'node:http';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { TrainyardClient } from '@trainyard/client';
import { extract } from 'tar-stream';
import { DatasetsRepository, ModelVersionsRepository, RunsRepository } from '@trainyard/db';
import { OBJECT_STORE } from '@trainyard/infrastructure';
import type { ObjectStore } from '@trainyard/storage';
import { completeCheckpoint } from '../testing/succeeded-run';
import { startTestApi, type TestApi } from '../testing/test-api';
import { tinySpecs } from '../testing/tiny-specs';

/**
 * The list routes of pipelines, sweeps and models (keyset pages, a limit cap, projects kept
 * apart), a dataset's sample images (named by index only, read inside the dataset's folder,
 * bounded, image bytes only) and a checkpoint's tar archive, against real PostgreSQL, Redis, the
 * local object store and HTTP; with the hostile inputs each must refuse as a 400 and survive.
 */
describe('catalog lists, dataset samples and checkpoint archives (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let roots: string;
  let outside: string;
  let teamA: string;
  let teamB: string;
  const { pretrain, finetune } = tinySpecs();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Reply = { status: number; type: string; body: any; bytes: Buffer; headers: Headers };
  async function call(path: string, options: { key?: string; method?: string; body?: unknown } = {}): Promise<Reply> {
    const res = await fetch(`${api.baseUrl}${path}`, {
      method: options.method ?? 'GET',
      headers: {
        authorization: `Bearer ${options.key ?? api.adminKey}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    return {
      status: res.status,
      type,
      bytes,
      headers: res.headers,
      body: type.includes('json') && bytes.length > 0 ? JSON.parse(bytes.toString('utf8')) : null,
    };
  }

  async function projectKey(project: string): Promise<string> {
    const res = await call('/v1/keys', {
      method: 'POST',
      body: { name: `${project} team`, scopes: ['read', 'submit'], project },
    });
    expect(res.status).toBe(201);
    return res.body.token;
  }

  /** A SUCCEEDED run of `project` whose COMPLETE checkpoint #1 holds `files` in the store, as a worker leaves it. */
  async function finishedRun(project: string, files: Record<string, Buffer>): Promise<string> {
    const runs = api.app.get(RunsRepository);
    const store = api.app.get<ObjectStore>(OBJECT_STORE);
    const id = randomUUID();
    await runs.create({
      id,
      kind: 'FINETUNE',
      name: `${project} run`,
      spec: finetune('x') as never,
      baseRunId: null,
      project,
    });
    await runs.markRunning(id, 'cpu');
    const prefix = `runs/${id}/checkpoints/1/`;
    for (const [file, body] of Object.entries(files)) await store.put(prefix + file, body);
    await completeCheckpoint(api.app, id, { uri: store.uri(prefix), models: ['classifier'] });
    await runs.finish(id, 'SUCCEEDED');
    return id;
  }

  const png = (shade: number) =>
    sharp({ create: { width: 4, height: 4, channels: 3, background: { r: shade, g: shade, b: shade } } })
      .png()
      .toBuffer();

  beforeAll(async () => {
    roots = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-catalog-')));
    outside = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-outside-')));
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: roots, RATE_LIMIT_PER_MINUTE: '100000' } });
    teamA = await projectKey('team-a');
    teamB = await projectKey('team-b');
  });
  afterAll(async () => {
    await api?.stop();
    for (const dir of [roots, outside]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pages pipelines and sweeps newest first by cursor, each row with its runs counted by status', async () => {
    const pipelines: string[] = [];
    for (const name of ['p1', 'p2', 'p3']) {
      const res = await call('/v1/pipelines', {
        method: 'POST',
        body: { name, pretrain: pretrain(`${name} ae`), finetunes: [finetune(`${name} ft`)] },
      });
      expect(res.status).toBe(201);
      pipelines.push(res.body.id);
    }
    const first = await call('/v1/pipelines?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.items.map((p: { name: string }) => p.name)).toEqual(['p3', 'p2']);
    expect(first.body.items[0]).toMatchObject({ status: 'RUNNING', steps: 2, counts: { QUEUED: 2 } });
    const second = await call(`/v1/pipelines?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({
      items: [expect.objectContaining({ id: pipelines[0], name: 'p1' })],
      nextCursor: null,
    });
    // A cancelled one is counted as such.
    await call(`/v1/pipelines/${pipelines[0]}/cancel`, { method: 'POST' });
    const cancelled = (await call('/v1/pipelines?limit=100')).body.items.find(
      (p: { id: string }) => p.id === pipelines[0],
    );
    expect(cancelled).toMatchObject({ status: 'CANCELLED', counts: { CANCELLED: 2 } });

    const sweep = await call('/v1/sweeps', {
      method: 'POST',
      body: {
        name: 'lr',
        base: finetune('lr'),
        strategy: 'grid',
        parameters: { 'training.learningRate': [0.001, 0.01, 0.1] },
      },
    });
    expect(sweep.status).toBe(201);
    const sweeps = await call('/v1/sweeps?limit=1');
    expect(sweeps.body).toEqual({
      items: [
        expect.objectContaining({
          id: sweep.body.id,
          strategy: 'grid',
          metric: 'test/accuracy',
          goal: 'max',
          parameters: ['training.learningRate'],
          runs: 3,
          counts: { QUEUED: 3 },
        }),
      ],
      nextCursor: null,
    });
    // A pipeline cursor is not a sweep cursor.
    const crossed = await call(`/v1/sweeps?cursor=${first.body.nextCursor}`);
    expect(crossed.status).toBe(400);
    expect(crossed.body.errors.map((e: { field: string }) => e.field)).toEqual(['cursor']);
  });

  it('refuses a random range outside its field whatever the seed, naming the end and the bound', async () => {
    // Seed 0 draws a learning rate inside (0, 1] for one run: before the ends were checked it was accepted.
    for (const seed of [0, 1, 2, 3]) {
      const res = await call('/v1/sweeps', {
        method: 'POST',
        body: {
          name: 'huge lr',
          base: finetune('huge lr'),
          strategy: 'random',
          maxRuns: 1,
          seed,
          parameters: { 'training.learningRate': { min: 1e-308, max: 1e308, log: true } },
        },
      });
      expect({ seed, status: res.status }).toEqual({ seed, status: 400 });
      expect(res.body.errors).toEqual([
        { field: 'parameters.training.learningRate.max', message: expect.stringContaining('<=1') },
      ]);
    }
  });

  it('lists models by name with their newest versions and the run of each, one project apart from another', async () => {
    const registered: Record<string, string[]> = {};
    for (const [key, name] of [
      [teamA, 'zebra'],
      [teamA, 'alpha'],
      [teamA, 'alpha'],
      [teamB, 'beta'],
    ] as const) {
      const project = key === teamA ? 'team-a' : 'team-b';
      const runId = await finishedRun(project, { 'manifest.json': Buffer.from('{}') });
      const res = await call('/v1/models', { key, method: 'POST', body: { name, runId } });
      expect(res.status).toBe(201);
      (registered[name] ??= []).push(runId);
    }
    const page = await call('/v1/models?limit=1', { key: teamA });
    expect(page.body.items).toEqual([
      expect.objectContaining({ name: 'alpha', project: 'team-a', versionCount: 2, latestVersion: 2 }),
    ]);
    expect(page.body.items[0].versions.map((v: { version: number; runId: string }) => [v.version, v.runId])).toEqual([
      [2, registered['alpha']![1]],
      [1, registered['alpha']![0]],
    ]);
    const next = await call(`/v1/models?limit=1&cursor=${page.body.nextCursor}`, { key: teamA });
    expect(next.body.items.map((m: { name: string }) => m.name)).toEqual(['zebra']);
    expect(next.body.nextCursor).toBeNull();
    // Team B sees its own only; an operator's key sees every project's.
    expect((await call('/v1/models', { key: teamB })).body.items.map((m: { name: string }) => m.name)).toEqual([
      'beta',
    ]);
    expect((await call('/v1/models')).body.items.map((m: { name: string }) => m.name)).toEqual([
      'alpha',
      'beta',
      'zebra',
    ]);
    expect((await call('/v1/pipelines', { key: teamB })).body.items).toEqual([]);
    // The versions repository agrees with what the list shows.
    const versions = await api.app.get(ModelVersionsRepository).versions('alpha', 'team-a');
    expect(versions.map((v) => v.runId)).toEqual(registered['alpha']);
  });

  it('pages through every list with the typed client, each answer parsed by its contract', async () => {
    const client = new TrainyardClient(api.baseUrl, teamA, { validateResponses: true });
    const names = async <T extends { name: string }>(items: AsyncGenerator<T>) => {
      const seen: string[] = [];
      for await (const item of items) seen.push(item.name);
      return seen;
    };
    // One item a page: every page is fetched and parsed.
    expect(await names(client.models({ limit: 1 }))).toEqual(['alpha', 'zebra']);
    const admin = new TrainyardClient(api.baseUrl, api.adminKey, { validateResponses: true });
    expect(await names(admin.pipelines({ limit: 2 }))).toEqual(['p3', 'p2', 'p1']);
    expect(await names(admin.sweeps({ limit: 1 }))).toEqual(['lr']);
    await expect(admin.listPipelines({ limit: 500 })).rejects.toMatchObject({ status: 400 });
  });

  it.each([
    ['limit=1000000000', 'limit'],
    ['limit=101', 'limit'],
    ['limit=0', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=NaN', 'limit'],
    ['limit=1.5', 'limit'],
    ['limit=1e2', 'limit'], // 100 in exponent form: digits only (decimalInt), no longer coerced
    ['limit=0x10', 'limit'],
    ['limit=010', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['__proto__=1', '__proto__'],
    ['constructor=1', 'constructor'],
    ['cursor=%00', 'cursor'],
    ['cursor=a%1bb', 'cursor'],
    ['cursor=../../etc', 'cursor'],
    [
      `cursor=${Buffer.from('{"__proto__":{"polluted":1},"k":"models","n":"a","p":"b"}').toString('base64url')}`,
      'cursor',
    ],
    [`cursor=${'A'.repeat(5000)}`, 'cursor'],
  ])(
    'GET /v1/{pipelines,sweeps,models,datasets}?%s is refused, naming %s, and the API lives on',
    async (query, field) => {
      for (const list of ['pipelines', 'sweeps', 'models', 'datasets']) {
        const res = await call(`/v1/${list}?${query}`);
        expect({ list, status: res.status }).toEqual({ list, status: 400 });
        expect(res.type).toMatch(/^application\/problem\+json/);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      }
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect((await call('/healthz')).status).toBe(200);
    },
  );

  it('pages 60 datasets of two projects newest first, each key its own, rows with their classes counted', async () => {
    const datasets = api.app.get(DatasetsRepository);
    const made: Record<string, string[]> = { 'team-a': [], 'team-b': [] };
    for (let i = 0; i < 60; i++) {
      const project = i % 3 === 0 ? 'team-b' : 'team-a';
      // One with more classes than a row names: the list counts them, the detail route has them all.
      const classes = i === 7 ? 500 : 2;
      const view = await datasets.create({
        project,
        id: randomUUID(),
        name: `set-${String(i).padStart(2, '0')}`,
        location: { kind: 's3', prefix: `sets/${project}/${i}/` },
        uri: `s3://bucket/sets/${project}/${i}/`,
        classNames: Array.from({ length: classes }, (_, c) => `class-${c}`),
        counts: Array.from({ length: classes }, () => 3),
      });
      made[project]!.push(view.id);
    }
    const pageThrough = async (key: string, limit: number) => {
      const rows: { id: string; name: string; createdAt: string }[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await call(`/v1/datasets?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { key });
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(limit);
        rows.push(...res.body.items);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      return { rows, pages };
    };
    const a = await pageThrough(teamA, 7);
    // Newest first; rows created in the same millisecond keep one order by id, none repeated or lost.
    expect(new Set(a.rows.map((r) => r.id)).size).toBe(40);
    expect([...a.rows.map((r) => r.id)].sort()).toEqual([...made['team-a']!].sort());
    const times = a.rows.map((r) => r.createdAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(a.pages).toBe(Math.ceil(40 / 7));
    const b = await pageThrough(teamB, 100);
    expect(b.pages).toBe(1);
    expect([...b.rows.map((r) => r.id)].sort()).toEqual([...made['team-b']!].sort());
    expect(new Set(a.rows.map((r) => r.name)).size).toBe(40);
    // An operator's key sees both projects' (and nothing twice), at the default page size.
    const first = await call('/v1/datasets');
    expect(first.body.items).toHaveLength(25);
    const all = await pageThrough(api.adminKey, 25);
    const mine = all.rows.filter((r) => made['team-a']!.includes(r.id) || made['team-b']!.includes(r.id));
    expect(mine).toHaveLength(60);
    // A row counts its classes and names the first few; the dataset itself has every one.
    const big = a.rows.find((r) => r.name === 'set-07') as unknown as Record<string, unknown>;
    expect(big).toMatchObject({ classCount: 500, images: 1500, project: 'team-a' });
    expect(big['firstClassNames']).toEqual(Array.from({ length: 10 }, (_, c) => `class-${c}`));
    expect(big).not.toHaveProperty('classNames');
    expect((await call(`/v1/datasets/${big['id']}`, { key: teamA })).body.classNames).toHaveLength(500);
    // The typed client pages alike, each answer parsed by its contract.
    const client = new TrainyardClient(api.baseUrl, teamB, { validateResponses: true });
    const seen: string[] = [];
    for await (const d of client.datasets({ limit: 6 })) seen.push(d.id);
    expect(seen).toEqual(b.rows.map((r) => r.id));
    // A cursor that is none, or another list's, is refused, naming the datasets list.
    const crossed = await call('/v1/datasets?cursor=garbage');
    expect(crossed.status).toBe(400);
    expect(crossed.body.errors).toEqual([
      { field: 'cursor', message: expect.stringMatching(/^Invalid datasets list cursor/) },
    ]);
    const pipelineCursor = (await call('/v1/pipelines?limit=1')).body.nextCursor as string;
    const wrongList = await call(`/v1/datasets?cursor=${pipelineCursor}`);
    expect(wrongList.body.errors).toEqual([
      { field: 'cursor', message: expect.stringContaining('datasets list cursor') },
    ]);
    expect(wrongList.body.errors[0].message).toContain('it belongs to the pipelines list');
  });

  describe('sample images of a dataset', () => {
    let dataset: string;
    let images: Buffer[];

    beforeAll(async () => {
      const folder = join(roots, 'pets');
      images = [await png(10), await png(200), await png(90)];
      mkdirSync(join(folder, 'cat'), { recursive: true });
      mkdirSync(join(folder, 'dog'), { recursive: true });
      writeFileSync(join(folder, 'cat', 'a.png'), images[0]!);
      writeFileSync(join(folder, 'cat', 'b.png'), images[1]!);
      // Named as an image, holding a page a browser would run: never served as anything.
      writeFileSync(join(folder, 'cat', 'c.png'), '<html><script>alert(1)</script></html>');
      // Larger than the sample cap (4 MiB).
      writeFileSync(join(folder, 'cat', 'd.png'), Buffer.concat([images[0]!, Buffer.alloc(4 * 1024 * 1024)]));
      writeFileSync(join(folder, 'dog', 'a.png'), images[2]!);
      // A link out of the dataset's folder is never listed, so never served.
      writeFileSync(join(outside, 'secret.png'), images[1]!);
      symlinkSync(join(outside, 'secret.png'), join(folder, 'dog', 'b.png'));
      // A name no image may have (a backslash): left out of the counts and of the samples alike.
      writeFileSync(join(folder, 'dog', 'a\\b.png'), images[2]!);
      const res = await call('/v1/datasets', {
        key: teamA,
        method: 'POST',
        body: { name: 'pets', location: { kind: 'local', path: folder } },
      });
      expect(res.status).toBe(201);
      expect(res.body.counts).toEqual([4, 1]);
      dataset = res.body.id;
    });

    it('serves the n-th image of a class by index, typed by its bytes', async () => {
      for (const [cls, index, body] of [
        [0, 0, images[0]],
        [0, 1, images[1]],
        [1, 0, images[2]],
      ] as const) {
        const res = await call(`/v1/datasets/${dataset}/samples/${cls}/${index}`, { key: teamA });
        expect({ status: res.status, type: res.type }).toEqual({ status: 200, type: 'image/png' });
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.bytes.equals(body!)).toBe(true);
      }
    });

    it('refuses what is not an image, what is too large, what is not there, and a link out of the folder', async () => {
      const status = async (path: string) =>
        (await call(`/v1/datasets/${dataset}/samples/${path}`, { key: teamA })).status;
      expect(await status('0/2')).toBe(422); // HTML named .png
      expect(await status('0/3')).toBe(413); // over the cap
      expect(await status('0/4')).toBe(404); // the class has 4
      expect(await status('1/1')).toBe(404); // neither `a\b.png` nor the symlink to a file outside was listed
      expect(await status('2/0')).toBe(404); // 2 classes
      // Another project's dataset is not there at all.
      expect((await call(`/v1/datasets/${dataset}/samples/0/0`, { key: teamB })).status).toBe(404);
    });

    it.each([
      ['-1/0', 'class'],
      ['1e0/0', 'class'],
      ['0x1/0', 'class'],
      ['%20%31/0', 'class'],
      ['NaN/0', 'class'],
      ['cat/0', 'class'],
      ['..%2f..%2fetc/0', 'class'],
      ['0/16', 'index'],
      ['0/999999', 'index'],
      ['0/%2e%2e%2fdog', 'index'],
      ['0/0%00', 'index'],
      ['0/__proto__', 'index'],
    ])('GET /v1/datasets/:id/samples/%s is a 400 naming %s', async (path, field) => {
      const res = await call(`/v1/datasets/${dataset}/samples/${path}`, { key: teamA });
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });

    it('answers 404 for a class folder that is gone, and refuses a malformed dataset id', async () => {
      expect((await call(`/v1/datasets/..%2F..%2Fetc/samples/0/0`)).status).toBe(400);
      expect((await call(`/v1/datasets/${randomUUID()}/samples/0/0`)).status).toBe(404);
    });
  });

  describe('checkpoint archive', () => {
    it('streams every file of the checkpoint in one tar, manifest first, byte for byte and of the length announced', async () => {
      const files = {
        'classifier/model.json': Buffer.from('{"modelTopology":{}}'),
        'classifier/weights.bin': Buffer.alloc(300_000, 7),
        'manifest.json': Buffer.from('{"files":{}}'),
      };
      const runId = await finishedRun('team-a', files);
      const res = await call(`/v1/runs/${runId}/checkpoints/1/archive`, { key: teamA });
      expect(res.status).toBe(200);
      expect(res.type).toBe('application/x-tar');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${runId.slice(0, 8)}-ckpt1.tar"`);
      expect(Number(res.headers.get('content-length'))).toBe(res.bytes.length);
      const read: [string, Buffer][] = [];
      const reader = extract();
      const done = (async () => {
        for await (const entry of reader) {
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          read.push([entry.header.name, Buffer.concat(chunks)]);
        }
      })();
      reader.end(res.bytes);
      await done;
      const folder = `${runId.slice(0, 8)}-ckpt1`;
      expect(read.map(([name]) => name)).toEqual([
        `${folder}/manifest.json`,
        `${folder}/classifier/model.json`,
        `${folder}/classifier/weights.bin`,
      ]);
      for (const [name, body] of read)
        expect(body.equals(files[name.slice(folder.length + 1) as keyof typeof files])).toBe(true);
      // Another project's run, an unknown checkpoint and a malformed sequence.
      expect((await call(`/v1/runs/${runId}/checkpoints/1/archive`, { key: teamB })).status).toBe(404);
      expect((await call(`/v1/runs/${runId}/checkpoints/2/archive`, { key: teamA })).status).toBe(404);
      expect((await call(`/v1/runs/${runId}/checkpoints/-1/archive`, { key: teamA })).status).toBe(400);
      expect((await call(`/v1/runs/${runId}/checkpoints/..%2f1/archive`, { key: teamA })).status).toBe(400);
    });

    it("holds a key's open downloads and archives to its stream places (SSE_MAX_PER_KEY), and gives them back", async () => {
      // Before, any number could be held paused: 300 archives took the API from 244 to 378 MiB and 600 descriptors.
      const runId = await finishedRun('team-a', {
        'manifest.json': Buffer.from('{"files":{}}'),
        'classifier/weights.bin': Buffer.alloc(8 * 1024 * 1024, 5),
      });
      const held: import('node:http').ClientRequest[] = [];
      const open = (path: string, key: string) =>
        new Promise<number>((resolve, reject) => {
          const req = get(`${api.baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } }, (res) => {
            res.pause(); // takes nothing more: the answer stays open
            resolve(res.statusCode ?? 0);
          });
          req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
          held.push(req);
        });
      const archive = `/v1/runs/${runId}/checkpoints/1/archive`;
      const download = `/v1/runs/${runId}/checkpoints/1/download?file=classifier/weights.bin`;
      try {
        const statuses = [];
        for (let i = 0; i < 20; i++) statuses.push(await open(i % 2 ? archive : download, teamA));
        expect(statuses).toEqual(Array(20).fill(200));
        for (const path of [archive, download]) {
          const refused = await call(path, { key: teamA });
          expect(refused.status).toBe(429);
          expect(refused.body.message).toContain('SSE_MAX_PER_KEY=20');
        }
        // Another project's key is not held by A's places (and A's run is a 404 to it, as ever).
        expect((await call(archive, { key: teamB })).status).toBe(404);
        // A HEAD takes no place and opens nothing in the store: its GET's headers, no body. Before,
        // each was answered as its GET, a body Node discards: a download read the whole object from
        // the store, and an event stream never sent its headers, each holding a place meanwhile.
        const head = async (path: string) => {
          const res = await call(path, { key: teamA, method: 'HEAD' });
          return {
            path,
            status: res.status,
            type: res.type,
            length: res.headers.get('content-length'),
            body: res.bytes.length,
          };
        };
        expect(await head(download)).toEqual({
          path: download,
          status: 200,
          type: 'application/octet-stream',
          length: String(8 * 1024 * 1024),
          body: 0,
        });
        expect(await head(archive)).toMatchObject({ status: 200, type: 'application/x-tar', body: 0 });
        expect(Number((await head(archive)).length)).toBeGreaterThan(8 * 1024 * 1024);
        for (const path of [`/v1/runs/${runId}/events`, `/v1/runs/${runId}/logs?follow=true`])
          expect(await head(path)).toEqual({
            path,
            status: 200,
            type: 'text/event-stream; charset=utf-8',
            length: null,
            body: 0,
          });
        expect((await call(download, { key: teamB, method: 'HEAD' })).status).toBe(404);
      } finally {
        for (const req of held) req.destroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await call(archive, { key: teamA })).status).toBe(200);
    });

    it('survives clients that close the archive or a download in the middle of a file', async () => {
      // Before, one archive closed mid-file left a promise rejected with nothing awaiting it, and
      // that unhandled rejection ended the API process: any read key could take the API down.
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => rejections.push(reason);
      process.on('unhandledRejection', onRejection);
      try {
        const runId = await finishedRun('team-a', {
          'manifest.json': Buffer.from('{"files":{}}'),
          'classifier/weights.bin': Buffer.alloc(40 * 1024 * 1024, 3),
        });
        const paths = [
          `/v1/runs/${runId}/checkpoints/1/archive`,
          `/v1/runs/${runId}/checkpoints/1/download?file=classifier/weights.bin`,
        ];
        for (const path of [...paths, ...paths, ...paths]) {
          await new Promise<void>((resolve, reject) => {
            const req = get(`${api.baseUrl}${path}`, { headers: { authorization: `Bearer ${teamA}` } }, (res) => {
              expect(res.statusCode).toBe(200);
              res.once('data', () => (req.destroy(), resolve()));
            });
            req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(rejections).toEqual([]);
        expect((await call('/v1/whoami', { key: teamA })).status).toBe(200);
      } finally {
        process.off('unhandledRejection', onRejection);
      }
    });
  });
});

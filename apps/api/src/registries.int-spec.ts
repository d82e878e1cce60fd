import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { RunsRepository } from '@trainyard/db';
import { augmentationSampleKey, createObjectStore, type ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { completeCheckpoint } from './testing/succeeded-run';
import { startTestApi, type TestApi } from './testing/test-api';

/**
 * Datasets and models registries, and the references runs make to them (a registered base, an
 * evaluated checkpoint, a registered dataset), over HTTP against real PostgreSQL, Redis and an
 * S3 server. Folders are checked by listing only, so any bytes stand in for images here.
 */
describe('datasets and models registries (PostgreSQL, Redis, S3, HTTP)', () => {
  let api: TestApi;
  let s3: S3TestServer;
  /** TRAINYARD_LOCAL_ROOTS of the API: local folders are made here. */
  let localRoot: string;
  /** Beside the root, never under it: what the API must not reveal. */
  let outside: string;
  let app: INestApplication;
  let baseUrl: string;
  let queue: Queue;
  let store: ObjectStore;
  let runs: RunsRepository;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    const base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-registries-')));
    localRoot = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(localRoot);
    mkdirSync(outside);
    api = await startTestApi({
      env: {
        ...s3.env(),
        TRAINYARD_LOCAL_ROOTS: localRoot,
        FOLDER_WALK_MAX_FILES: '200',
      },
    });
    ({ app, baseUrl, queue } = api);
    store = await createObjectStore(api.config.storage);
    runs = app.get(RunsRepository);
  });

  afterAll(async () => {
    await api?.stop();
    await s3?.stop();
    if (localRoot) rmSync(join(localRoot, '..'), { recursive: true, force: true });
  });

  /** The headers every request carries: the API key once startTestApi hands one out. */
  function authHeaders(): Record<string, string> {
    const { authHeaders: headers, adminKey } = api as TestApi & {
      authHeaders?: Record<string, string>;
      adminKey?: string;
    };
    return headers ?? (adminKey ? { authorization: `Bearer ${adminKey}` } : {});
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!text || !response.headers.get('content-type')?.includes('json'))
      return { status: response.status, body: text };
    // The request id differs per request by design; answers are compared without it.
    const { requestId: _requestId, ...json } = JSON.parse(text);
    return { status: response.status, body: json };
  }

  function localFolder(files: string[], emptyClasses: string[] = [], under = localRoot): string {
    const root = mkdtempSync(join(under, 'folder-'));
    for (const file of files) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), 'x');
    }
    for (const name of emptyClasses) mkdirSync(join(root, name));
    return root;
  }

  /** A run of `kind` in `status`, with one COMPLETE checkpoint holding `models` when given. */
  async function seedRun(
    kind: 'PRETRAIN' | 'FINETUNE',
    status: 'RUNNING' | 'SUCCEEDED',
    models?: string[],
  ): Promise<string> {
    const id = randomUUID();
    const spec = { kind: kind.toLowerCase(), dataset: { name: 'synthetic-shapes', imageSize: 16 } };
    await runs.create({ id, kind, name: 'seed', spec: spec as never, baseRunId: null });
    await runs.markRunning(id, 'cpu');
    if (models) await completeCheckpoint(api.app, id, { uri: `s3://x/${id}/`, models });
    if (status === 'SUCCEEDED') await runs.finish(id, 'SUCCEEDED');
    return id;
  }

  it('registers a local folder and an S3 prefix with their classes and counts, and lists them', async () => {
    const path = localFolder(['cat/1.png', 'cat/2.jpg', 'dog/1.png', 'dog/README.md']);
    const local = await http('POST', '/v1/datasets', { name: 'pets', location: { kind: 'local', path } });
    expect(local.status).toBe(201);
    expect(local.body).toMatchObject({
      id: expect.any(String),
      name: 'pets',
      classNames: ['cat', 'dog'],
      counts: [2, 1],
      images: 3,
    });
    expect(local.body.location).toEqual({ kind: 'local', path });

    for (const key of [
      'sets/flowers/rose/a.png',
      'sets/flowers/rose/b.webp',
      'sets/flowers/tulip/c.png',
      'sets/flowers/iris/d.jpeg',
    ]) {
      await store.put(key, Buffer.from('x'));
    }
    const remote = await http('POST', '/v1/datasets', {
      name: 'flowers',
      location: { kind: 's3', prefix: 'sets/flowers' },
    });
    expect(remote.status).toBe(201);
    expect(remote.body).toMatchObject({
      classNames: ['iris', 'rose', 'tulip'],
      counts: [1, 2, 1],
      uri: `s3://${s3.bucket}/sets/flowers/`,
    });
    expect(remote.body.location).toEqual({ kind: 's3', prefix: 'sets/flowers/' });

    expect((await http('GET', `/v1/datasets/${remote.body.id}`)).body).toMatchObject({ name: 'flowers', images: 4 });
    expect((await http('GET', '/v1/datasets')).body.items.map((d: { name: string }) => d.name)).toEqual(
      expect.arrayContaining(['pets', 'flowers']),
    );
    expect((await http('GET', `/v1/datasets/${randomUUID()}`)).status).toBe(404);
    expect((await http('POST', '/v1/datasets', { name: 'pets', location: { kind: 'local', path } })).status).toBe(409);
  });

  it("registers a local folder and an S3 prefix without taking tools' folders (.git, hidden ones, __MACOSX) for classes or images", async () => {
    const junk = [
      '.git/HEAD',
      '.git/objects/ab/cdef',
      '.ipynb_checkpoints/cat/1-checkpoint.png',
      '__MACOSX/cat/._1.png',
    ];
    // Inside a class too, at any depth: Jupyter's copy of an image is no second image.
    const inClasses = ['cat/.ipynb_checkpoints/1-checkpoint.png', 'dog/x/__MACOSX/2.png'];
    const path = localFolder(
      ['cat/1.png', 'dog/1.png', 'dog/2.png', ...junk, ...inClasses],
      ['.DS_Store-like', '.empty'],
    );
    const local = await http('POST', '/v1/datasets', { name: 'pets with tools', location: { kind: 'local', path } });
    expect(local.status).toBe(201);
    expect(local.body).toMatchObject({ classNames: ['cat', 'dog'], counts: [1, 2], images: 3 });

    for (const key of ['rose/a.png', 'tulip/b.png', 'tulip/.cache/b.png', ...junk, '.DS_Store-like/x.png']) {
      await store.put(`sets/tools/${key}`, Buffer.from('x'));
    }
    const remote = await http('POST', '/v1/datasets', {
      name: 'flowers with tools',
      location: { kind: 's3', prefix: 'sets/tools' },
    });
    expect(remote.status).toBe(201);
    expect(remote.body).toMatchObject({ classNames: ['rose', 'tulip'], counts: [1, 1], images: 2 });
  });

  it("refuses a fine-tune's own head whose classes are not the registered folder's, with 422 naming it", async () => {
    const path = localFolder(['a/1.png', 'b/1.png', 'c/1.png']);
    const folder = await http('POST', '/v1/datasets', {
      name: `abc-${randomUUID()}`,
      location: { kind: 'local', path },
    });
    expect(folder.body.counts).toEqual([1, 1, 1]);
    const head = (units: number) => ({
      class_name: 'Sequential',
      config: {
        layers: [
          { class_name: 'Flatten', config: { name: 'f' } },
          { class_name: 'Dense', config: { name: 'o', units, activation: 'softmax' } },
        ],
      },
    });
    const submit = (units: number) =>
      http('POST', '/v1/runs', {
        kind: 'finetune',
        name: 'own head',
        dataset: { name: 'image-folder', datasetId: folder.body.id, imageShape: [28, 28, 1] },
        model: { type: 'classifier', layers: { head: head(units) } },
      });
    const refused = await submit(5);
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      { field: 'model.layers.head', message: expect.stringMatching(/outputs 5 classes but dataset .* has 3/) },
    ]);
    expect((await submit(3)).status).toBe(201);
  });

  it('refuses a single class, an empty class and a missing folder with 422 and the reason; a relative path with 400', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ kind: 'local', path: localFolder(['only/1.png']) }, 'location', /single class 'only'/],
      [{ kind: 'local', path: localFolder(['a/1.png'], ['b']) }, 'location', /class 'b' has no images/],
      // A missing folder, even inside the roots, gets the answer of a path outside them (see below).
      [{ kind: 'local', path: join(localRoot, 'nope') }, 'location.path', /not inside a folder this server may read/],
      [{ kind: 's3', prefix: 'no/such/prefix/' }, 'location', /no class subfolders/],
    ];
    for (const [location, field, why] of cases) {
      const res = await http('POST', '/v1/datasets', { name: `bad-${randomUUID()}`, location });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(why) }]);
    }
    const relative = await http('POST', '/v1/datasets', { name: 'rel', location: { kind: 'local', path: 'data/x' } });
    expect(relative.status).toBe(400);
    expect(relative.body.errors[0].field).toBe('location.path');
  });

  it('versions a succeeded run as a model and refuses unfinished runs', async () => {
    const runId = await seedRun('FINETUNE', 'SUCCEEDED', ['classifier']);
    const first = await http('POST', '/v1/models', { name: 'shapes', runId });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      name: 'shapes',
      version: 1,
      runId,
      checkpointSequence: 1,
      models: ['classifier'],
    });
    expect((await http('POST', '/v1/models', { name: 'shapes', runId })).body.version).toBe(2);
    const versions = await http('GET', '/v1/models/shapes/versions');
    expect(versions.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect((await http('GET', '/v1/models/nothing/versions')).status).toBe(404);

    const running = await http('POST', '/v1/models', {
      name: 'shapes',
      runId: await seedRun('FINETUNE', 'RUNNING', ['classifier']),
    });
    expect(running.status).toBe(422);
    expect(running.body.errors).toEqual([{ field: 'runId', message: expect.stringMatching(/is RUNNING/) }]);
    expect((await http('POST', '/v1/models', { name: 'shapes', runId: randomUUID() })).status).toBe(422);
  });

  it('pins a registered base, fills an evaluation with its run dataset, and refuses unknown references', async () => {
    const pretrain = await seedRun('PRETRAIN', 'SUCCEEDED', ['autoencoder', 'encoder']);
    const version = (await http('POST', '/v1/models', { name: 'encoder', runId: pretrain })).body;
    const ft = await http('POST', '/v1/runs', {
      kind: 'finetune',
      name: 'ft',
      dataset: { name: 'synthetic-shapes' },
      model: { type: 'classifier', baseModel: { name: 'encoder', version: 1 } },
    });
    expect(ft.status).toBe(201);
    expect(await runs.get(ft.body.id)).toMatchObject({ baseRunId: pretrain, baseCheckpointId: version.checkpointId });
    const missing = await http('POST', '/v1/runs', {
      kind: 'finetune',
      name: 'ft',
      dataset: { name: 'synthetic-shapes' },
      model: { type: 'classifier', baseModel: { name: 'encoder', version: 9 } },
    });
    expect(missing.body.errors).toEqual([{ field: 'model.baseModel', message: 'No version 9 of model "encoder"' }]);

    const finetuned = await seedRun('FINETUNE', 'SUCCEEDED', ['classifier']);
    const evaluation = await http('POST', '/v1/runs', {
      kind: 'evaluate',
      name: 'ev',
      checkpoint: { runId: finetuned },
    });
    expect(evaluation.status).toBe(201);
    expect(await runs.get(evaluation.body.id)).toMatchObject({
      kind: 'EVALUATE',
      baseRunId: finetuned,
      spec: { dataset: { name: 'synthetic-shapes', imageSize: 16 } },
    });
    expect((await queue.getJob(evaluation.body.id))?.name).toBe('evaluate');
    const refusals: [unknown, string, RegExp][] = [
      [{ runId: pretrain }, 'checkpoint.runId', /PRETRAIN run/],
      [{ runId: await seedRun('FINETUNE', 'RUNNING', ['classifier']) }, 'checkpoint.runId', /is RUNNING/],
      [{ runId: finetuned, sequence: 7 }, 'checkpoint.sequence', /no complete checkpoint #7/],
    ];
    for (const [checkpoint, field, why] of refusals) {
      const res = await http('POST', '/v1/runs', { kind: 'evaluate', name: 'ev', checkpoint });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(why) }]);
    }
    // A dataset the classifier (trained on 16×16 grey shapes) cannot take: refused now, not after queueing.
    for (const [dataset, why] of [
      [
        { name: 'synthetic-shapes', imageSize: 32 },
        /^Images of 32×32×1 do not fit the classifier of run .*, which takes 16×16×1$/,
      ],
      [{ name: 'mnist' }, /^Images of 28×28×1 do not fit/],
    ] as const) {
      const res = await http('POST', '/v1/runs', {
        kind: 'evaluate',
        name: 'ev',
        checkpoint: { runId: finetuned },
        dataset,
      });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([{ field: 'dataset', message: expect.stringMatching(why) }]);
    }
    const sameImages = await http('POST', '/v1/runs', {
      kind: 'evaluate',
      name: 'ev',
      checkpoint: { runId: finetuned },
      dataset: { name: 'synthetic-shapes', imageSize: 16, testPerClass: 3 },
    });
    expect(sameImages.status).toBe(201);
    const unregistered = await http('POST', '/v1/runs', {
      kind: 'finetune',
      name: 'f',
      dataset: { name: 'image-folder', datasetId: randomUUID() },
    });
    expect(unregistered.body.errors).toEqual([
      { field: 'dataset.datasetId', message: expect.stringMatching(/POST \/v1\/datasets/) },
    ]);
  });

  it("serves a run's augmentation sample as a PNG, 404 before it exists", async () => {
    // A run's: a file under runs/<id>/ with no run is no one's (hostile-walkthrough.int-spec.ts).
    const id = await api.submitPretrain('augmented');
    expect((await http('GET', `/v1/runs/${id}/augmentation.png`)).status).toBe(404);
    await store.put(augmentationSampleKey(id), Buffer.from('\x89PNG fake'));
    const res = await fetch(`${baseUrl}/v1/runs/${id}/augmentation.png`, { headers: authHeaders() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
  });

  describe('paths and prefixes (issue #9: nothing outside TRAINYARD_LOCAL_ROOTS is read or revealed)', () => {
    const register = (location: unknown) => http('POST', '/v1/datasets', { name: `probe-${randomUUID()}`, location });
    /** What the API answers for a path outside the roots that does not exist: every outside path must get exactly this. */
    async function outsideAnswer(): Promise<unknown> {
      const missing = await register({ kind: 'local', path: join(outside, 'no-such-folder') });
      expect(missing.status).toBe(422);
      expect(missing.body.errors).toEqual([
        { field: 'location.path', message: expect.stringMatching(/not inside a folder this server may read/) },
      ]);
      return missing.body;
    }

    it('answers /etc, /root, / and /usr fast with the same 422 as a missing path, naming none of their subfolders', async () => {
      const expected = await outsideAnswer();
      for (const path of ['/etc', '/root', '/', '/usr', '/etc/passwd']) {
        const started = Date.now();
        const res = await register({ kind: 'local', path });
        expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 422, body: expected });
        expect(Date.now() - started).toBeLessThan(2000);
        const names = (() => {
          try {
            return readdirSync(path).filter((name) => name.length >= 4);
          } catch {
            return [];
          }
        })();
        // Words of the fixed answer ('Unprocessable' holds 'proc') are not a listing.
        const text = JSON.stringify(res.body);
        expect(names.filter((name) => text.includes(name) && !JSON.stringify(expected).includes(name))).toEqual([]);
      }
    });

    it('refuses a valid image folder outside the roots, a symlink out of a root, a `..` escape and a NUL byte alike', async () => {
      const expected = await outsideAnswer();
      const elsewhere = localFolder(['secret-class-a/1.png', 'secret-class-b/2.png'], [], outside);
      const link = join(localRoot, `link-${randomUUID()}`);
      symlinkSync(elsewhere, link);
      for (const path of [
        elsewhere,
        link,
        `${localRoot}/../outside/${elsewhere.split('/').pop()}`,
        `${localRoot}/../outside`,
      ]) {
        const res = await register({ kind: 'local', path });
        expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 422, body: expected });
      }
      // Links inside the roots whose targets do or do not exist outside: nothing tells them apart.
      const dangling = join(localRoot, `dangling-${randomUUID()}`);
      symlinkSync(join(outside, `no-such-folder-${randomUUID()}`), dangling);
      const toPasswd = join(localRoot, `passwd-${randomUUID()}`);
      symlinkSync('/etc/passwd', toPasswd);
      const toNowhere = join(localRoot, `nope-${randomUUID()}`);
      symlinkSync(`/etc/nope-${randomUUID()}`, toNowhere);
      for (const path of [
        dangling,
        join(dangling, 'x'),
        toPasswd,
        toNowhere,
        join(localRoot, `missing-${randomUUID()}`),
      ]) {
        const res = await register({ kind: 'local', path });
        expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 422, body: expected });
      }
      const nul = await register({ kind: 'local', path: `${localRoot}/x\0/../../outside` });
      expect([400, 422]).toContain(nul.status);
      expect(nul.body.errors[0].field).toBe('location.path');
      expect(JSON.stringify(nul.body)).not.toMatch(/secret-class/);
    });

    it('records the real path of a folder reached through a link inside the roots', async () => {
      const folder = localFolder(['a/1.png', 'b/2.png']);
      const link = join(localRoot, `alias-${randomUUID()}`);
      symlinkSync(folder, link);
      const res = await register({ kind: 'local', path: link });
      expect(res.status).toBe(201);
      expect(res.body.location).toEqual({ kind: 'local', path: folder });
    });

    it('stops walking a folder past FOLDER_WALK_MAX_FILES with a 422 naming the limit', async () => {
      const big = localFolder(Array.from({ length: 250 }, (_, i) => `c${i % 2}/${i}.png`));
      const res = await register({ kind: 'local', path: big });
      expect(res.status).toBe(422);
      expect(res.body.errors).toEqual([
        { field: 'location', message: expect.stringMatching(/FOLDER_WALK_MAX_FILES=200/) },
      ]);
    });

    it('refuses S3 prefixes that are not plain folders of the bucket with the field named', async () => {
      for (const prefix of ['./x/', 'a//b/', '../x', '/abs', 'a/./b', 'a/\u0001b/']) {
        const res = await register({ kind: 's3', prefix });
        expect({ prefix, status: [400, 422].includes(res.status) }).toEqual({ prefix, status: true });
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain('location.prefix');
      }
    });

    it('checks an imported model URI at submit: the configured bucket, or a file under the roots', async () => {
      const submit = (uri: string) =>
        http('POST', '/v1/runs', {
          kind: 'finetune',
          name: 'imported',
          dataset: { name: 'synthetic-shapes' },
          model: { type: 'classifier', importedModel: { uri } },
        });
      const inRoot = join(localFolder([]), 'model.json');
      writeFileSync(inRoot, '{}');
      expect((await submit(pathToFileURL(inRoot).href)).status).toBe(201);
      expect((await submit(inRoot)).status).toBe(201);
      expect((await submit(`s3://${s3.bucket}/imported/vgg/model.json`)).status).toBe(201);

      const secret = join(outside, 'model.json');
      writeFileSync(secret, 'root:x:0:0:root:/root:/bin/bash');
      const answers = [];
      // A link inside the roots to a model.json outside that is missing, and to one that exists.
      const linkedFolder = join(localRoot, `linked-${randomUUID()}`);
      symlinkSync(join(outside, `no-such-folder-${randomUUID()}`), linkedFolder);
      const linkedSecret = join(localFolder([]), 'model.json');
      symlinkSync(secret, linkedSecret);
      for (const uri of [
        pathToFileURL(secret).href,
        secret,
        pathToFileURL(join(outside, 'missing', 'model.json')).href,
        `file://${localRoot}/../outside/model.json`,
        pathToFileURL(join(linkedFolder, 'model.json')).href,
        pathToFileURL(linkedSecret).href,
        pathToFileURL(join(localRoot, `missing-${randomUUID()}`, 'model.json')).href,
      ]) {
        const res = await submit(uri);
        expect({ uri, status: res.status }).toEqual({ uri, status: 422 });
        expect(res.body.errors).toEqual([
          {
            field: 'model.importedModel.uri',
            message: expect.stringMatching(/not inside a folder this server may read/),
          },
        ]);
        answers.push(res.body);
      }
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
      for (const uri of ['s3://another-bucket/vgg/model.json', `s3://${s3.bucket}/a/../model.json`]) {
        const res = await submit(uri);
        expect({ uri, status: res.status }).toEqual({ uri, status: 422 });
        expect(res.body.errors[0].field).toBe('model.importedModel.uri');
      }
    });
  });
});

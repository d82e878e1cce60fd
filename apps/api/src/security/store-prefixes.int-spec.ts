import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Database } from '@trainyard/db';
import { DATABASE, OBJECT_STORE } from '@trainyard/infrastructure';
import type { ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { projectKey, requestAs, type KeyedReply } from '../testing/keyed-requests';
import { startTestApi, type TestApi } from '../testing/test-api';
import { tarOf } from '../testing/tar-of';

/** Bytes that pass an upload's image check (PNG's signature); nothing here decodes them. */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('pixels')]);

const call = requestAs;
type Reply = KeyedReply;

const fields = (reply: Reply): string[] => ((reply.body?.errors ?? []) as { field: string }[]).map((e) => e.field);

const finetune = (uri: string) => ({
  kind: 'finetune',
  name: 'imported',
  dataset: { name: 'synthetic-shapes' },
  model: { type: 'classifier', importedModel: { uri } },
});

/**
 * The folders of the object store Trainyard writes for every project at once — runs/ (checkpoints,
 * logs), datasets/uploads/, datasets/packed/ — are no project's: project B registering one as a
 * dataset, or importing a model from one, would read project A's images and weights. Every
 * spelling of them is refused by every key (a project's and an operator's), naming the field,
 * before anything is listed, so no answer names what lies under them. Over HTTP against real
 * PostgreSQL, Redis and an S3 server (s3rver), then a local store reached through the roots.
 */
describe('shared store prefixes (PostgreSQL, Redis, S3, HTTP)', () => {
  let s3: S3TestServer;
  let api: TestApi;
  let store: ObjectStore;
  let a: string;
  let b: string;
  /** What B must never learn: A's run id and its upload's folder. */
  const aRun = randomUUID();
  let aUpload: { id: string; prefix: string };

  beforeAll(async () => {
    s3 = await startS3TestServer();
    api = await startTestApi({
      env: { ...s3.env() },
    });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
    [a, b] = [await projectKey(api, 'alpha'), await projectKey(api, 'beta')];
    // A's run as a worker leaves it (a checkpoint with an encoder, a log chunk) …
    for (const file of [
      'checkpoints/1/encoder/model.json',
      'checkpoints/1/encoder/weights.bin',
      'logs/00001-000001.ndjson',
    ])
      await store.put(`runs/${aRun}/${file}`, Buffer.from('{}'));
    // … and A's upload, through the API.
    const upload = await fetch(`${api.baseUrl}/v1/datasets/uploads?name=secret-pets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a}`, 'content-type': 'application/x-tar' },
      body: await tarOf([
        ['alpha-cats/1.png', PNG],
        ['alpha-dogs/1.png', PNG],
      ]),
    });
    expect(upload.status).toBe(201);
    const uploaded = (await upload.json()) as { id: string; location: { prefix: string } };
    aUpload = { id: uploaded.id, prefix: uploaded.location.prefix };
    // B's own folder and model.
    for (const key of ['teams/beta/flowers/rose/1.png', 'teams/beta/flowers/tulip/1.png', 'imported/vgg/model.json'])
      await store.put(key, PNG);
  });

  afterAll(async () => {
    await api?.stop();
    await s3?.stop();
  });

  const leaks = (reply: Reply) =>
    [aRun, aUpload.prefix.split('/')[2]!, 'secret-pets', 'alpha-cats', 'alpha-dogs'].filter((s) =>
      reply.text.includes(s),
    );

  async function datasetCount(): Promise<number> {
    return (await call(api, api.adminKey, 'GET', '/v1/datasets')).body.items.length;
  }

  it('refuses every spelling of an internal prefix as a dataset location, by any key, listing nothing', async () => {
    const uuid = aUpload.prefix.split('/')[2]!;
    const prefixes = [
      'datasets/uploads',
      'datasets/uploads/',
      aUpload.prefix,
      `${aUpload.prefix}alpha-cats/`,
      'runs',
      'runs/',
      `runs/${aRun}/`,
      `runs/${aRun}/checkpoints`,
      'datasets',
      'datasets/packed/',
      'RUNS/',
      'Datasets/Uploads/',
      `DATASETS/UPLOADS/${uuid.toUpperCase()}/`,
      'datasets%2Fuploads',
      'datasets%252Fuploads/',
      '%72uns',
      'x%2F..%2Fruns/',
      '\uff52\uff55\uff4e\uff53/',
      'runs./',
      // Refused by the shape of the folder already, still naming the field.
      '/runs/',
      './runs/',
      'a/../runs/',
      'datasets//uploads/',
      'runs//',
      'datasets\\uploads\\',
    ];
    const before = await datasetCount();
    for (const key of [b, api.adminKey]) {
      for (const prefix of prefixes) {
        const reply = await call(api, key, 'POST', '/v1/datasets', {
          name: `d-${randomUUID()}`,
          location: { kind: 's3', prefix },
        });
        expect({ prefix, status: reply.status, fields: fields(reply), leaks: leaks(reply) }).toEqual({
          prefix,
          status: 400,
          fields: ['location.prefix'],
          leaks: [],
        });
      }
    }
    const reply = await call(api, b, 'POST', '/v1/datasets', { name: 'x', location: { kind: 's3', prefix: 'runs' } });
    expect(reply.body.errors[0].message).toMatch(/is in or holds runs\/, where Trainyard keeps every project's runs/);
    expect(await datasetCount()).toBe(before);
  });

  it('still registers a folder of the project’s own, and still lists its classes when they are wrong', async () => {
    const ok = await call(api, b, 'POST', '/v1/datasets', {
      name: 'flowers',
      location: { kind: 's3', prefix: 'teams/beta/flowers' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ classNames: ['rose', 'tulip'], location: { prefix: 'teams/beta/flowers/' } });
    await store.put('teams/beta/half/rose/1.png', PNG);
    await store.put('teams/beta/half/tulip/notes.txt', Buffer.from('x'));
    const empty = await call(api, b, 'POST', '/v1/datasets', {
      name: 'half',
      location: { kind: 's3', prefix: 'teams/beta/half/' },
    });
    expect(empty.status).toBe(422);
    expect(empty.body.errors[0].message).toMatch(/class 'tulip' has no images/);
  });

  it('refuses an imported model under an internal prefix, by any key, naming model.importedModel.uri', async () => {
    const bucket = `s3://${s3.bucket}/`;
    const uris = [
      `${bucket}runs/${aRun}/checkpoints/1/encoder/model.json`,
      `${bucket}RUNS/${aRun}/checkpoints/1/encoder/model.json`,
      `${bucket}%72uns/${aRun}/checkpoints/1/encoder/model.json`,
      `${bucket}runs%2F${aRun}/checkpoints/1/encoder/model.json`,
      `${bucket}${aUpload.prefix}model.json`,
      `${bucket}datasets/packed/manifests/model.json`,
      `${bucket}runs/../runs/${aRun}/checkpoints/1/encoder/model.json`,
      `${bucket}/runs/${aRun}/checkpoints/1/encoder/model.json`,
      `${bucket}./runs/${aRun}/checkpoints/1/encoder/model.json`,
    ];
    const before = await api.queue.count();
    for (const key of [b, api.adminKey]) {
      for (const uri of uris) {
        const reply = await call(api, key, 'POST', '/v1/runs', finetune(uri));
        expect({ uri, status: reply.status, fields: fields(reply) }).toEqual({
          uri,
          status: 422,
          fields: ['model.importedModel.uri'],
        });
      }
    }
    expect(await api.queue.count()).toBe(before);
    // A model of the project's own is still imported.
    expect((await call(api, b, 'POST', '/v1/runs', finetune(`${bucket}imported/vgg/model.json`))).status).toBe(201);
  });

  it("refuses B a model whose folder is, holds or lies in A's registered folder (its weights would be A's images); A imports it", async () => {
    const bucket = `s3://${s3.bucket}/`;
    for (const key of ['teams/alpha/pets/cat/1.png', 'teams/alpha/pets/dog/1.png']) await store.put(key, PNG);
    const registered = await call(api, a, 'POST', '/v1/datasets', {
      name: 'alpha-pets',
      location: { kind: 's3', prefix: 'teams/alpha/pets/' },
    });
    expect(registered.status).toBe(201);
    // In A's folder, in a class of it, in the folder above it, at the bucket's top.
    const models = ['teams/alpha/pets/model.json', 'teams/alpha/pets/cat/model.json', 'teams/model.json', 'model.json'];
    for (const key of models) await store.put(key, Buffer.from('{}'));
    const before = await api.queue.count();
    for (const key of models) {
      const reply = await call(api, b, 'POST', '/v1/runs', finetune(`${bucket}${key}`));
      expect({ key, status: reply.status, fields: fields(reply) }).toEqual({
        key,
        status: 422,
        fields: ['model.importedModel.uri'],
      });
    }
    expect(await api.queue.count()).toBe(before);
    // A's own folder is A's to import from; B's model beside it (teams/beta/…) is B's.
    expect((await call(api, a, 'POST', '/v1/runs', finetune(`${bucket}teams/alpha/pets/model.json`))).status).toBe(201);
    await store.put('teams/beta/model/model.json', Buffer.from('{}'));
    expect((await call(api, b, 'POST', '/v1/runs', finetune(`${bucket}teams/beta/model/model.json`))).status).toBe(201);
  });

  it('reads nothing for a dataset row that names an internal prefix (one registered before they were refused)', async () => {
    // Written as such a release wrote them: straight into the table, past today's checks.
    const { prisma } = api.app.get<Database>(DATABASE);
    for (const prefix of ['datasets/uploads/', 'runs/', `${aUpload.prefix}alpha-cats/`]) {
      const forged = await prisma.dataset.create({
        data: {
          project: 'beta',
          id: randomUUID(),
          name: `forged-${randomUUID()}`,
          location: { kind: 's3', prefix },
          uri: store.uri(prefix),
          classNames: [aUpload.prefix.split('/')[2]!, aRun],
          counts: [1, 1],
        },
      });
      const sample = await call(api, b, 'GET', `/v1/datasets/${forged.id}/samples/0/0`);
      expect({ prefix, status: sample.status }).toEqual({ prefix, status: 404 });
      const run = await call(api, b, 'POST', '/v1/runs', {
        kind: 'finetune',
        name: 'on a forged dataset',
        dataset: { name: 'image-folder', datasetId: forged.id, imageShape: [8, 8, 3] },
        model: { type: 'classifier', importedModel: { uri: `s3://${s3.bucket}/imported/vgg/model.json` } },
      });
      expect({ prefix, status: run.status, fields: fields(run) }).toEqual({
        prefix,
        status: 422,
        fields: ['dataset.datasetId'],
      });
    }
    // The upload's own dataset is read as before.
    const own = await call(api, a, 'GET', `/v1/datasets/${aUpload.id}/samples/0/0`);
    expect(own.status).toBe(200);
  });
});

/**
 * The embedded default store is a folder (`$TRAINYARD_HOME/objects`): where TRAINYARD_LOCAL_ROOTS
 * holds it, its runs/ and uploads must not be reachable as local paths either.
 */
describe('shared store folders of a local store reached through the roots (PostgreSQL, Redis, HTTP)', () => {
  let api: TestApi;
  let base: string;
  let objects: string;
  let a: string;
  let b: string;
  const aRun = randomUUID();

  beforeAll(async () => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-store-roots-')));
    objects = join(base, 'home', 'objects');
    for (const file of [
      `runs/${aRun}/checkpoints/1/encoder/model.json`,
      `runs/${aRun}/checkpoints/1/encoder/weights.bin`,
      'datasets/uploads/6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5/alpha-cats/1.png',
      'datasets/uploads/6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5/alpha-dogs/1.png',
      '../../mine/a/1.png',
      '../../mine/b/1.png',
      '../../models/mine/model.json',
      'teams/alpha/pets/cats/1.png',
      'teams/alpha/pets/dogs/1.png',
      'teams/alpha/birds/owls/1.png',
      'teams/alpha/birds/hawks/1.png',
      'teams/beta/fish/cod/1.png',
      'teams/beta/fish/eel/1.png',
    ]) {
      mkdirSync(join(objects, file, '..'), { recursive: true });
      writeFileSync(join(objects, file), PNG);
    }
    api = await startTestApi({ env: { TRAINYARD_HOME: join(base, 'home'), TRAINYARD_LOCAL_ROOTS: base } });
    [a, b] = [await projectKey(api, 'alpha'), await projectKey(api, 'beta')];
  });

  afterAll(async () => {
    await api?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses local dataset paths in or holding the store’s internal folders, listing nothing', async () => {
    for (const path of [
      join(objects, 'runs'),
      join(objects, 'runs', aRun),
      join(objects, 'RUNS'),
      join(objects, 'datasets', 'uploads'),
      join(objects, 'datasets'),
      objects,
      join(base, 'home'),
      base,
      `${objects}/datasets/x/../uploads`,
    ]) {
      const reply = await call(api, b, 'POST', '/v1/datasets', { name: 'local', location: { kind: 'local', path } });
      expect({ path, status: reply.status, fields: fields(reply) }).toEqual({
        path,
        status: 422,
        fields: ['location.path'],
      });
      expect({
        path,
        leaks: [aRun, '6f1c2d3e', 'alpha-cats', 'alpha-dogs'].filter((s) => reply.text.includes(s)),
      }).toEqual({ path, leaks: [] });
    }
    const mine = await call(api, b, 'POST', '/v1/datasets', {
      name: 'mine',
      location: { kind: 'local', path: join(base, 'mine') },
    });
    expect(mine.status).toBe(201);
  });

  it('refuses a file:// model inside the store’s runs/, however it is named', async () => {
    const weights = join(objects, 'runs', aRun, 'checkpoints/1/encoder/model.json');
    for (const uri of [weights, pathToFileURL(weights).href, `file://localhost${weights}`]) {
      const reply = await call(api, b, 'POST', '/v1/runs', finetune(uri));
      expect({ uri, status: reply.status, fields: fields(reply) }).toEqual({
        uri,
        status: 422,
        fields: ['model.importedModel.uri'],
      });
    }
    const own = await call(api, b, 'POST', '/v1/runs', finetune(join(base, 'models', 'mine', 'model.json')));
    expect(own.status).toBe(201);
  });

  it("refuses a local path naming another project's store prefix, and a prefix naming its local path", async () => {
    // Before, the two kinds were compared apart: B read A's images by naming A's folder the other way.
    const prefix = await call(api, a, 'POST', '/v1/datasets', {
      name: 'pets',
      location: { kind: 's3', prefix: 'teams/alpha/pets/' },
    });
    expect(prefix.status).toBe(201);
    const local = await call(api, a, 'POST', '/v1/datasets', {
      name: 'birds',
      location: { kind: 'local', path: join(objects, 'teams', 'alpha', 'birds') },
    });
    expect(local.status).toBe(201);
    const attempts: { location: Record<string, string>; field: string }[] = [
      { location: { kind: 'local', path: join(objects, 'teams', 'alpha', 'pets') }, field: 'location.path' },
      { location: { kind: 'local', path: `${objects}/teams/alpha/pets/` }, field: 'location.path' },
      { location: { kind: 'local', path: join(objects, 'teams', 'alpha', 'pets', 'cats') }, field: 'location.path' },
      { location: { kind: 'local', path: join(objects, 'teams', 'alpha') }, field: 'location.path' },
      { location: { kind: 'local', path: join(objects, 'teams') }, field: 'location.path' },
      { location: { kind: 's3', prefix: 'teams/alpha/birds/' }, field: 'location.prefix' },
      { location: { kind: 's3', prefix: 'teams/alpha/birds/owls' }, field: 'location.prefix' },
      { location: { kind: 's3', prefix: 'teams/' }, field: 'location.prefix' },
    ];
    for (const { location, field } of attempts) {
      const reply = await call(api, b, 'POST', '/v1/datasets', { name: 'theirs', location });
      expect({ location, status: reply.status, fields: fields(reply) }).toEqual({
        location,
        status: 409,
        fields: [field],
      });
      expect({ location, leaks: ['cats', 'dogs', 'owls', 'hawks'].filter((s) => reply.text.includes(s)) }).toEqual({
        location,
        leaks: [],
      });
    }
    // Its own folders, named either way, and A naming its own the other way, are registered.
    const own = await call(api, b, 'POST', '/v1/datasets', {
      name: 'fish',
      location: { kind: 'local', path: join(objects, 'teams', 'beta', 'fish') },
    });
    expect(own.status).toBe(201);
    const ownPrefix = await call(api, b, 'POST', '/v1/datasets', {
      name: 'fish again',
      location: { kind: 's3', prefix: 'teams/beta/fish/' },
    });
    expect(ownPrefix.status).toBe(201);
    const sameProject = await call(api, a, 'POST', '/v1/datasets', {
      name: 'pets by path',
      location: { kind: 'local', path: join(objects, 'teams', 'alpha', 'pets') },
    });
    expect(sameProject.status).toBe(201);
  });

  it("refuses B a model by path in, holding or above A's folder, whichever way A registered it", async () => {
    // Folders of A's registered one way only: a prefix, and a path.
    for (const file of ['lynx/1.png', 'puma/1.png']) {
      for (const folder of ['by-prefix', 'by-path']) {
        mkdirSync(join(objects, 'teams', 'alpha', folder, file, '..'), { recursive: true });
        writeFileSync(join(objects, 'teams', 'alpha', folder, file), PNG);
      }
    }
    const registrations = [
      { name: 'cats by prefix', location: { kind: 's3', prefix: 'teams/alpha/by-prefix/' } },
      { name: 'cats by path', location: { kind: 'local', path: join(objects, 'teams', 'alpha', 'by-path') } },
    ];
    for (const body of registrations) expect((await call(api, a, 'POST', '/v1/datasets', body)).status).toBe(201);
    const models = [
      join(objects, 'teams', 'alpha', 'by-prefix', 'model.json'),
      join(objects, 'teams', 'alpha', 'by-prefix', 'lynx', 'model.json'),
      join(objects, 'teams', 'alpha', 'by-path', 'model.json'),
      join(objects, 'teams', 'alpha', 'by-path', 'puma', 'model.json'),
      join(objects, 'teams', 'alpha', 'model.json'),
    ];
    for (const path of models) writeFileSync(path, '{}');
    for (const uri of [...models, pathToFileURL(models[0]!).href]) {
      const reply = await call(api, b, 'POST', '/v1/runs', finetune(uri));
      expect({ uri, status: reply.status, fields: fields(reply) }).toEqual({
        uri,
        status: 422,
        fields: ['model.importedModel.uri'],
      });
    }
    // A imports from its own folders.
    for (const path of [models[0]!, models[2]!])
      expect((await call(api, a, 'POST', '/v1/runs', finetune(path))).status).toBe(201);
  });
});

import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunReferencesResolver, RunsRepository, type Run } from '@trainyard/db';
import { OBJECT_STORE } from '@trainyard/infrastructure';
import { PACKED_ROOT, packedManifestKey, packedShardKey, UPLOADS_ROOT, type ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import type { RunSpec } from '@trainyard/contracts';
import { HOSTILE_PATH_SEGMENTS, statusClass } from '../testing/hostile-path-segments';
import { projectKey, requestAs } from '../testing/keyed-requests';
import { tarOf } from '../testing/tar-of';
import { startTestApi, type TestApi } from '../testing/test-api';

/** What the upload checks of an image: its signature (the rest is read when a run loads the folder). */
const png = (text: string) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(text)]);

/**
 * `DELETE /v1/datasets/:id` over real HTTP, PostgreSQL, Redis and an S3 server: an upload's images
 * go with it, a folder someone registered (a local path, a prefix of the store) is never touched;
 * unfinished runs on it refuse the deletion, finished ones keep their history and cannot start
 * again; another project's dataset is a 404.
 */
describe('DELETE /v1/datasets/:id (PostgreSQL, Redis, S3 server, HTTP)', () => {
  let s3: S3TestServer;
  let api: TestApi;
  let store: ObjectStore;
  let localRoot: string;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    localRoot = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-dataset-deletion-')));
    api = await startTestApi({
      env: {
        ...s3.env(),
        TRAINYARD_LOCAL_ROOTS: localRoot,
      },
    });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
  });
  afterAll(async () => {
    await api?.stop();
    await s3?.stop();
    if (localRoot) rmSync(localRoot, { recursive: true, force: true });
  });

  const call = (method: string, path: string, body?: unknown, key = api.adminKey) =>
    requestAs(api, key, method, path, body);

  /** Uploads a two-class folder as `name` with `key`; the dataset. */
  async function uploaded(name: string, key = api.adminKey): Promise<{ id: string; location: { prefix: string } }> {
    const tar = await tarOf([
      ['cat/1.png', png('cat 1')],
      ['cat/2.png', png('cat 2')],
      ['dog/1.png', png('dog 1')],
    ]);
    const res = await fetch(`${api.baseUrl}/v1/datasets/uploads?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-tar' },
      body: tar,
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; location: { prefix: string } };
  }

  const onFolder = (datasetId: string, name = 'on the folder') => ({
    kind: 'pretrain',
    name,
    dataset: { name: 'image-folder', datasetId, imageShape: [8, 8, 3] },
    model: { type: 'conv-autoencoder', filters: [4], latentDim: 8 },
    training: { epochs: 1 },
  });

  it('refuses while an unfinished run trains on it, then deletes the upload with its images; finished runs keep their history', async () => {
    const dataset = await uploaded('pets');
    const { prefix } = dataset.location;
    expect((await store.list(prefix)).map((o) => o.key.slice(prefix.length))).toEqual([
      'cat/1.png',
      'cat/2.png',
      'dog/1.png',
    ]);
    const runIds: string[] = [];
    for (const name of ['first', 'second']) {
      const submitted = await call('POST', '/v1/runs', onFolder(dataset.id, name));
      expect(submitted.status).toBe(201);
      runIds.push(submitted.body.id);
    }

    const refused = await call('DELETE', `/v1/datasets/${dataset.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.activeRuns).toEqual({ count: 2, ids: runIds });
    expect(refused.body.errors).toEqual([{ field: 'id', message: expect.stringContaining(runIds.join(', ')) }]);
    expect(refused.body.detail).toBe(
      `Dataset ${dataset.id} is used by 2 runs not finished (${runIds.join(', ')}): cancel them or let them end first`,
    );
    expect(await store.list(prefix)).toHaveLength(3);
    expect((await call('GET', `/v1/datasets/${dataset.id}`)).status).toBe(200);

    for (const id of runIds) expect((await call('POST', `/v1/runs/${id}/cancel`)).status).toBe(200);
    const deleted = await call('DELETE', `/v1/datasets/${dataset.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({
      datasetId: dataset.id,
      name: 'pets',
      location: { kind: 's3', prefix },
      objects: { prefix: store.uri(prefix), count: 3, bytes: expect.any(Number), packedVersions: 0 },
      finishedRuns: 2,
    });
    // Gone from the S3 server itself, not only from the registry.
    expect(await store.list(prefix)).toEqual([]);
    expect((await store.list(UPLOADS_ROOT)).filter((o) => o.key.startsWith(prefix))).toEqual([]);
    expect((await call('GET', `/v1/datasets/${dataset.id}`)).status).toBe(404);
    expect((await call('GET', '/v1/datasets')).body.items.map((d: { id: string }) => d.id)).not.toContain(dataset.id);
    expect((await call('DELETE', `/v1/datasets/${dataset.id}`)).status).toBe(404);
    // The name is free again.
    expect((await uploaded('pets')).id).not.toBe(dataset.id);

    // The runs keep their history, and one taken up again fails naming the dataset rather than crashing.
    const run = (await api.app.get(RunsRepository).get(runIds[0]!)) as Run;
    expect(run).toMatchObject({ status: 'CANCELLED', spec: { dataset: { datasetId: dataset.id } } });
    expect(await api.app.get(RunReferencesResolver).atStart(run, run.spec as unknown as RunSpec)).toEqual({
      ok: false,
      reason: `dataset ${dataset.id} is not registered (POST /v1/datasets)`,
    });
    const late = await call('POST', '/v1/runs', onFolder(dataset.id));
    expect(late.status).toBe(422);
    expect(late.body.errors).toEqual([{ field: 'dataset.datasetId', message: expect.stringContaining(dataset.id) }]);
  });

  it("removes the versions packed from an upload with it, and the shards no other version uses; another folder's stay", async () => {
    const upload = await uploaded('packed pets');
    // Versions as `npm run dataset:pack` stores them: a manifest named by its sha256, naming its
    // source folder and its shards (by sha256); one shard shared by both versions.
    const shard = async (text: string) => {
      const sha256 = createHash('sha256').update(text).digest('hex');
      await store.put(packedShardKey(sha256), Buffer.from(text));
      return sha256;
    };
    const [own, shared, others] = [await shard('own'), await shard('shared'), await shard('others')];
    const version = async (source: string, shards: string[]) => {
      const bytes = Buffer.from(
        JSON.stringify({
          format: 'trainyard-packed-v1',
          source,
          classNames: ['cat', 'dog'],
          images: 3,
          shards: shards.map((sha256) => ({ sha256, bytes: 1, entries: [{ key: 'cat/1.png', label: 0, bytes: 1 }] })),
        }),
      );
      const name = createHash('sha256').update(bytes).digest('hex');
      await store.put(packedManifestKey(name), bytes);
      return name;
    };
    const mine = await version(store.uri(upload.location.prefix), [own, shared]);
    const other = await version(store.uri('mine/other/'), [shared, others]);
    const myShards = [packedShardKey(own)];
    const otherShards = [packedShardKey(shared), packedShardKey(others)];

    const deleted = await call('DELETE', `/v1/datasets/${upload.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.objects).toMatchObject({ count: 3, packedVersions: 1 });
    const left = new Set((await store.list(PACKED_ROOT)).map((o) => o.key));
    expect(left.has(packedManifestKey(mine))).toBe(false);
    for (const shard of myShards) expect(left.has(shard)).toBe(false);
    expect(left.has(packedManifestKey(other))).toBe(true);
    for (const shard of otherShards) expect(left.has(shard)).toBe(true);
  });

  it("removes a registered prefix's registration only: the objects under it stay", async () => {
    for (const key of ['mine/flowers/rose/1.png', 'mine/flowers/tulip/1.png']) await store.put(key, png(key));
    const registered = await call('POST', '/v1/datasets', {
      name: 'flowers',
      location: { kind: 's3', prefix: 'mine/flowers/' },
    });
    expect(registered.status).toBe(201);
    const deleted = await call('DELETE', `/v1/datasets/${registered.body.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({
      objects: null,
      finishedRuns: 0,
      location: { kind: 's3', prefix: 'mine/flowers/' },
    });
    expect((await store.list('mine/flowers/')).map((o) => o.key)).toEqual([
      'mine/flowers/rose/1.png',
      'mine/flowers/tulip/1.png',
    ]);
  });

  it("removes a local folder's registration only: its files stay", async () => {
    const folder = join(localRoot, 'shapes');
    for (const file of ['circle/1.png', 'square/1.png']) {
      mkdirSync(join(folder, file, '..'), { recursive: true });
      writeFileSync(join(folder, file), png(file));
    }
    const registered = await call('POST', '/v1/datasets', {
      name: 'shapes',
      location: { kind: 'local', path: folder },
    });
    expect(registered.status).toBe(201);
    const deleted = await call('DELETE', `/v1/datasets/${registered.body.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ objects: null, location: { kind: 'local', path: folder } });
    expect(['circle/1.png', 'square/1.png'].map((file) => existsSync(join(folder, file)))).toEqual([true, true]);
  });

  it("answers a project's key 404 for another project's dataset, and 403 to a key without the submit scope", async () => {
    const a = await projectKey(api, 'team-a');
    const b = await projectKey(api, 'team-b');
    const dataset = await uploaded('team a pets', a);
    const theirs = await call('DELETE', `/v1/datasets/${dataset.id}`, undefined, b);
    expect(theirs).toMatchObject({ status: 404, body: { detail: `No dataset with id ${dataset.id}` } });
    expect((await call('DELETE', `/v1/datasets/${randomUUID()}`, undefined, b)).status).toBe(404);
    const reader = await projectKey(api, 'team-a', ['read']);
    expect((await call('DELETE', `/v1/datasets/${dataset.id}`, undefined, reader)).status).toBe(403);
    expect(await store.list(dataset.location.prefix)).toHaveLength(3);
    expect((await call('GET', `/v1/datasets/${dataset.id}`, undefined, a)).status).toBe(200);
    expect((await call('DELETE', `/v1/datasets/${dataset.id}`, undefined, a)).status).toBe(200);
  });

  it('answers hostile ids with a 4xx, never a 500, and deletes nothing', async () => {
    const dataset = await uploaded('kept');
    for (const segment of HOSTILE_PATH_SEGMENTS) {
      const res = await call('DELETE', `/v1/datasets/${segment}`);
      expect({ segment: segment.slice(0, 40), status: statusClass(res.status) }).toEqual({
        segment: segment.slice(0, 40),
        status: '4xx',
      });
    }
    const malformed = await call('DELETE', '/v1/datasets/not-a-uuid');
    expect(malformed).toMatchObject({ status: 400, body: { errors: [{ field: 'id' }] } });
    expect((await call('GET', `/v1/datasets/${dataset.id}`)).status).toBe(200);
    expect(await store.list(dataset.location.prefix)).toHaveLength(3);
  });
});

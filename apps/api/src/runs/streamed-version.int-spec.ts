import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OBJECT_STORE } from '@trainyard/infrastructure';
import { packedManifestKey, type ObjectStore } from '@trainyard/storage';
import { startTestApi, type TestApi } from '../testing/test-api';

/** A fine-tune that streams a packed version is refused at submit (422 naming the field) unless the version's manifest is in the store. */
describe('streamed dataset versions at submit (PostgreSQL, Redis, object store, HTTP)', () => {
  let api: TestApi;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-streamed-'));
    for (const file of ['cat/1.png', 'dog/1.png']) {
      mkdirSync(join(root, 'pets', file, '..'), { recursive: true });
      writeFileSync(join(root, 'pets', file), 'x');
    }
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: root } });
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('refuses a version the store does not hold, and takes it once its manifest is there', async () => {
    const registered = await api.fetch(`${api.baseUrl}/v1/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pets', location: { kind: 'local', path: join(root, 'pets') } }),
    });
    expect(registered.status).toBe(201);
    const { id } = (await registered.json()) as { id: string };
    const version = 'ab'.repeat(32);
    const submit = () =>
      api.fetch(`${api.baseUrl}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          kind: 'finetune',
          name: 'streamed',
          dataset: { name: 'image-folder', datasetId: id, imageShape: [16, 16, 3], stream: { version } },
          model: { type: 'classifier', inputShape: [16, 16, 3], filters: [8], latentDim: 16 },
          training: { epochs: 1 },
        }),
      });
    const refused = await submit();
    expect(refused.status).toBe(422);
    const problem = (await refused.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([
      { field: 'dataset.stream.version', message: expect.stringContaining(`no packed version ${version}`) },
    ]);
    const runs = (await (await api.fetch(`${api.baseUrl}/v1/runs`)).json()) as { items: unknown[] };
    expect(runs.items).toEqual([]);

    await api.app.get<ObjectStore>(OBJECT_STORE).put(packedManifestKey(version), Buffer.from('{}'));
    expect((await submit()).status).toBe(201);
  });
});

import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from '@trainyard/db';
import { DATABASE, OBJECT_STORE } from '@trainyard/infrastructure';
import { LocalObjectStore, packedManifestKey, type ObjectStore } from '@trainyard/storage';
import { startTestApi, type TestApi } from '../testing/test-api';

type Problem = { errors: { field: string; message: string }[] };

/**
 * A fine-tune that streams a packed version is refused at submit (422 naming the field) unless the
 * version's manifest is in the store and was packed from the dataset the spec names; the image
 * quota counts the version's images, which the run trains on (not the registered folder's).
 */
describe('streamed dataset versions at submit (PostgreSQL, Redis, object store, HTTP)', () => {
  let api: TestApi;
  let root: string;
  let store: ObjectStore;
  const runCount = () => api.app.get<Database>(DATABASE).prisma.run.count();

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'trainyard-streamed-')));
    for (const folder of ['pets', 'pets2', 'big', 'theirs'])
      for (const file of ['cat/1.png', 'dog/1.png']) {
        mkdirSync(join(root, folder, file, '..'), { recursive: true });
        writeFileSync(join(root, folder, file), 'x');
      }
    // 2 images registered; the quota allows 2 × 1000 epochs, not 50,000 × 1000.
    api = await startTestApi({ env: { TRAINYARD_LOCAL_ROOTS: root, QUOTA_REQUEST_IMAGES: '5000' } });
    store = api.app.get<ObjectStore>(OBJECT_STORE);
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  async function register(folder: string, headers: Record<string, string> = api.authHeaders): Promise<string> {
    const res = await fetch(`${api.baseUrl}/v1/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        name: `${folder} ${randomUUID()}`,
        location: { kind: 'local', path: join(root, folder) },
      }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }
  /** What `npm run dataset:pack` records as a local folder's `source`: the URI of a store at its real path. */
  const folderUri = (folder: string) => new LocalObjectStore(join(root, folder)).uri('');
  /** A manifest as dataset:pack writes it (encoded entries), named by the sha256 of its bytes. */
  async function putVersion(source: string, images: number, classNames = ['cat', 'dog']): Promise<string> {
    const manifest = {
      format: 'trainyard-packed-v1',
      source,
      classNames,
      images,
      shards: [
        {
          sha256: 'f'.repeat(64),
          bytes: images * 100,
          entries: Array.from({ length: images }, (_, i) => ({
            key: `${i % 2 ? 'dog' : 'cat'}/${i}.png`,
            label: i % 2,
            bytes: 100,
          })),
        },
      ],
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const version = createHash('sha256').update(bytes).digest('hex');
    await store.put(packedManifestKey(version), bytes);
    return version;
  }
  const submit = (datasetId: string, version: string, epochs = 1, headers: Record<string, string> = api.authHeaders) =>
    fetch(`${api.baseUrl}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({
        kind: 'finetune',
        name: 'streamed',
        dataset: { name: 'image-folder', datasetId, imageShape: [16, 16, 3], stream: { version } },
        model: { type: 'classifier', inputShape: [16, 16, 3], filters: [8], latentDim: 16 },
        training: { epochs },
      }),
    });
  async function refusal(res: Response): Promise<Problem['errors']> {
    expect(res.status).toBe(422);
    return ((await res.json()) as Problem).errors;
  }

  it('refuses a version the store does not hold or whose bytes are not its name, and takes one packed from the folder', async () => {
    const id = await register('pets');
    const missing = 'ab'.repeat(32);
    expect(await refusal(await submit(id, missing))).toEqual([
      { field: 'dataset.stream.version', message: expect.stringContaining(`no packed version ${missing}`) },
    ]);
    expect(await runCount()).toBe(0);

    // Bytes under a version's name that are not that version: altered or truncated.
    await store.put(packedManifestKey(missing), Buffer.from('{}'));
    expect(await refusal(await submit(id, missing))).toEqual([
      { field: 'dataset.stream.version', message: expect.stringContaining('altered or truncated') },
    ]);
    // Named after their sha256, but no manifest.
    const notManifest = Buffer.from(JSON.stringify({ format: 'trainyard-packed-v1', source: folderUri('pets') }));
    const named = createHash('sha256').update(notManifest).digest('hex');
    await store.put(packedManifestKey(named), notManifest);
    expect(await refusal(await submit(id, named))).toEqual([
      { field: 'dataset.stream.version', message: expect.stringContaining('is not a packed-dataset manifest') },
    ]);
    // A crafted manifest whose class names would write a viewer's clipboard (OSC 52) or reverse a row.
    for (const evil of ['\u001b]52;c;cm0gLXJmIH4K\u0007', 'cat\u202e']) {
      const crafted = await putVersion(folderUri('pets'), 4, ['dog', evil]);
      expect(await refusal(await submit(id, crafted))).toEqual([
        { field: 'dataset.stream.version', message: expect.stringContaining('is not a packed-dataset manifest') },
      ]);
    }
    expect(await runCount()).toBe(0);

    expect((await submit(id, await putVersion(folderUri('pets'), 2))).status).toBe(201);
    // `store.uri(prefix)` of a prefix given without its `/` is the same folder.
    expect((await submit(id, await putVersion(folderUri('pets').slice(0, -1), 2))).status).toBe(201);
  });

  it('refuses a version packed from any other folder (another dataset, another project, a sibling, a subfolder, a parent), writing nothing', async () => {
    const pets = await register('pets2');
    const big = await register('big');
    const made = await api.fetch(`${api.baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'theirs', scopes: ['read', 'submit'], project: 'theirs' }),
    });
    const theirKey = { authorization: `Bearer ${((await made.json()) as { token: string }).token}` };
    const theirs = await register('theirs', theirKey);
    const theirVersion = await putVersion(folderUri('theirs'), 50_000);
    // Their own dataset streams it (and 50,000 × 1 epoch is within no quota of 5,000: the count is the version's).
    expect(await refusal(await submit(theirs, theirVersion, 1, theirKey))).toEqual([
      { field: 'training.epochs', message: expect.stringContaining('50,000 images') },
    ]);

    const before = await runCount();
    const missing = 'cd'.repeat(32);
    const answerFor = async (version: string) => {
      // The audit's request: 2 registered images × 1,000 epochs pass the quota; the version holds 50,000.
      const errors = await refusal(await submit(pets, version, 1000));
      expect(errors).toEqual([{ field: 'dataset.stream.version', message: expect.any(String) }]);
      return errors[0]!.message.replace(version, '<version>');
    };
    const unknown = await answerFor(missing);
    const foreign = [
      await putVersion(folderUri('big'), 50_000), // another dataset of the project
      theirVersion, // another project's
      await putVersion(folderUri('pets'), 50_000), // a sibling folder: pets/ is not pets2/
      await putVersion(`${folderUri('pets2')}cat/`, 50_000), // a subfolder
      await putVersion(`${folderUri('pets2')}../big/`, 50_000), // a way out
      await putVersion(new LocalObjectStore(root).uri(''), 50_000), // the parent
      await putVersion(`s3://trainyard/${join(root, 'pets2').slice(1)}/`, 50_000), // another store's folder
    ];
    // Each is answered as a version that does not exist: nothing says what other folders have.
    for (const version of foreign) expect(await answerFor(version)).toBe(unknown);
    expect(await runCount()).toBe(before);
    expect((await submit(big, await putVersion(folderUri('big'), 10), 1)).status).toBe(201);
  });

  it('charges the images of the version against QUOTA_REQUEST_IMAGES, not those of the registered folder', async () => {
    const id = await register('pets');
    // The folder grew after registration (2 images then): its version holds 600.
    const version = await putVersion(folderUri('pets'), 600);
    const before = await runCount();
    expect(await refusal(await submit(id, version, 10))).toEqual([
      {
        field: 'training.epochs',
        message: expect.stringMatching(/^6,000 images .*limit is 5,000 \(QUOTA_REQUEST_IMAGES\)/),
      },
    ]);
    expect(await runCount()).toBe(before);
    expect((await submit(id, version, 8)).status).toBe(201);
  });
});

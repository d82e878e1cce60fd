import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BodySizeMismatchError } from './body-size-mismatch.error';
import { LocalObjectStore } from './local-object-store';

async function* body(...parts: (Buffer | Error)[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if (part instanceof Error) throw part;
    yield part;
  }
}

describe('LocalObjectStore.putStream', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-local-put-stream-'));
    store = new LocalObjectStore(join(root, 'objects'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  /** Every file under the store's folder, temp files included. */
  const files = async () =>
    (await readdir(join(root, 'objects'), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);

  it('writes the chunks as they come and makes the object appear whole', async () => {
    await store.putStream('datasets/a/cat/1.png', body(Buffer.from('ab'), Buffer.from('cde'), Buffer.alloc(0)), 5);
    expect((await store.get('datasets/a/cat/1.png')).toString()).toBe('abcde');
    await store.putStream('datasets/a/cat/2.png', body(), 0);
    expect((await store.get('datasets/a/cat/2.png')).length).toBe(0);
  });

  it.each([
    ['fails', [Buffer.from('new'), new Error('the client went away')], 6, /the client went away/],
    ['ends short', [Buffer.from('new')], 6, BodySizeMismatchError],
    ['runs long', [Buffer.from('new'), Buffer.from('longer')], 6, BodySizeMismatchError],
  ] as const)('leaves the old object and no temp file when the body %s', async (_what, parts, size, error) => {
    await store.put('datasets/a/cat/1.png', Buffer.from('old'));
    await expect(store.putStream('datasets/a/cat/1.png', body(...parts), size)).rejects.toThrow(error);
    expect((await store.get('datasets/a/cat/1.png')).toString()).toBe('old');
    expect(await files()).toEqual(['1.png']);
  });
});

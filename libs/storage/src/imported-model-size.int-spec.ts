import { importedModelIOHandler, locateModelFile, MODEL_JSON_MAX_BYTES, ModelFileRefusedError } from './model-uri';
import type { ObjectStore } from './object-store';
import { startS3TestServer, type S3TestServer } from './testing';

/** A model.json of one weight group: `weights` float32 values in `weights.bin`. */
const modelJson = (weights: number) =>
  Buffer.from(
    JSON.stringify({
      modelTopology: { class_name: 'Sequential', config: { layers: [] } },
      format: 'layers-model',
      weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [weights], dtype: 'float32' }] }],
    }),
  );

/**
 * An imported model in an S3 store is read only within its bounds, each object's size taken from
 * the listing before it is read (the store reads an object whole): a weight file past what the
 * manifest's weights take, and a model.json past MODEL_JSON_MAX_BYTES, are refused unread.
 */
describe('imported model files held to their sizes in an S3 store (s3rver over HTTP)', () => {
  let s3: S3TestServer;
  let store: ObjectStore;

  beforeAll(async () => {
    s3 = await startS3TestServer();
    store = await s3.objectStore();
  });
  afterAll(() => s3?.stop());

  const load = async (key: string) => {
    const location = await locateModelFile(store.uri(key), store, []);
    return importedModelIOHandler(location, store).load!().catch((error: unknown) => error);
  };

  it('reads a model whose files are the sizes its manifest says', async () => {
    await store.put('imported/fits/model.json', modelJson(2));
    await store.put('imported/fits/weights.bin', Buffer.from(new Float32Array([1.5, -2]).buffer));
    const artifacts = (await load('imported/fits/model.json')) as { weightData: ArrayBuffer };
    expect(Array.from(new Float32Array(artifacts.weightData))).toEqual([1.5, -2]);
  });

  it('refuses a weight file larger than what the manifest leaves for it, by its listed size', async () => {
    await store.put('imported/long/model.json', modelJson(2));
    await store.put('imported/long/weights.bin', Buffer.alloc(2 ** 20));
    const error = await load('imported/long/model.json');
    expect(error).toBeInstanceOf(ModelFileRefusedError);
    expect((error as Error).message).toMatch(/^weight file "weights\.bin" .* is 1048576 bytes, more than the 8 /);
  });

  it('refuses a model.json past MODEL_JSON_MAX_BYTES', async () => {
    await store.put('imported/big-json/model.json', Buffer.alloc(MODEL_JSON_MAX_BYTES + 1, 0x20));
    const error = await load('imported/big-json/model.json');
    expect(error).toBeInstanceOf(ModelFileRefusedError);
    expect((error as Error).message).toMatch(/^model\.json is 67108865 bytes; a model\.json may be at most 67108864/);
  });

  it('says a missing model.json is missing, as the store does', async () => {
    expect(await load('imported/none/model.json')).toMatchObject({ name: 'ObjectNotFoundError' });
  });
});

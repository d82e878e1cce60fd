import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { CHECKPOINT_MANIFEST } from './checkpoint-store';
import type { ObjectStore } from './object-store';
import { startS3TestServer, type S3TestServer } from './testing';

// Needs the compiled library (`node tools/build.mjs libs`; the test command builds first): each read
// runs in a fresh Node process, so what it measures is that read's memory, not this suite's.
const COMPILED = resolve(__dirname, '../../../dist/libs/storage/src/index.js');
const MiB = 2 ** 20;
const SIZE = 160 * MiB;

/** `size` bytes of a 1 MiB random block repeated, as a stream: the test process never holds them. */
async function* weightBytes(size: number, sha: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  const block = randomBytes(MiB);
  for (let left = size; left > 0; left -= MiB) {
    const chunk = block.subarray(0, Math.min(MiB, left));
    sha.update(chunk);
    yield chunk;
  }
}

/**
 * Runs `read` (the body of an async function given `storage` and `store`, returning what it read)
 * in a fresh process against the S3 server; the most its resident memory grew meanwhile, sampled.
 */
async function grewWhileReading(s3: S3TestServer, read: string): Promise<{ grewMiB: number; result: unknown }> {
  const script = `
    const storage = require(${JSON.stringify(COMPILED)});
    (async () => {
      const store = await storage.createObjectStore(${JSON.stringify({ driver: 's3', ...s3Settings(s3) })});
      const before = process.memoryUsage.rss();
      let peak = before;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2);
      const result = await (async () => { ${read} })();
      peak = Math.max(peak, process.memoryUsage.rss());
      clearInterval(sample);
      process.stdout.write(JSON.stringify({ grewMiB: (peak - before) / ${MiB}, result }));
    })().catch((error) => { console.error(error); process.exit(1); });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { maxBuffer: MiB });
  return JSON.parse(stdout) as { grewMiB: number; result: unknown };
}

function s3Settings(s3: S3TestServer) {
  return {
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    bucket: s3.bucket,
    region: 'us-east-1',
  };
}

/**
 * What the training process reads whole (a checkpoint to resume from, an imported model's weights)
 * it holds once: a 160 MiB weights.bin read from S3 over HTTP grew a process by 335 MiB through
 * ObjectStore.get and CheckpointStore.read, and by 628 MiB as tfjs model artifacts (chunks, their
 * concatenation, and two more copies on the way to tfjs); 194–196 MiB each since.
 */
describe('reading a large weights file from S3 holds it once', () => {
  let s3: S3TestServer;
  let store: ObjectStore;
  let weightsSha: string;
  const checkpoint = 'runs/large/checkpoints/1/';

  beforeAll(async () => {
    if (!existsSync(COMPILED)) throw new Error(`${COMPILED} is missing: run \`node tools/build.mjs libs\` first`);
    s3 = await startS3TestServer();
    store = await s3.objectStore();
    const sha = createHash('sha256');
    await store.putStream(`${checkpoint}m/weights.bin`, weightBytes(SIZE, sha), SIZE);
    weightsSha = sha.digest('hex');
    const modelJson = Buffer.from(
      JSON.stringify({
        modelTopology: { class_name: 'Sequential', config: { layers: [] } },
        format: 'layers-model',
        weightsManifest: [{ paths: ['weights.bin'], weights: [{ name: 'w', shape: [SIZE / 4], dtype: 'float32' }] }],
      }),
    );
    await store.put(`${checkpoint}m/model.json`, modelJson);
    const manifest = {
      version: 1,
      createdAt: new Date().toISOString(),
      meta: {},
      files: {
        'm/model.json': { sha256: createHash('sha256').update(modelJson).digest('hex'), bytes: modelJson.length },
        'm/weights.bin': { sha256: weightsSha, bytes: SIZE },
      },
    };
    await store.put(`${checkpoint}${CHECKPOINT_MANIFEST}`, Buffer.from(JSON.stringify(manifest)));
  }, 60_000);
  afterAll(async () => s3?.stop());

  it('ObjectStore.get', async () => {
    const { grewMiB, result } = await grewWhileReading(
      s3,
      `return (await store.get(${JSON.stringify(`${checkpoint}m/weights.bin`)})).length;`,
    );
    expect(result).toBe(SIZE);
    expect(grewMiB).toBeLessThan(1.5 * (SIZE / MiB));
  }, 60_000);

  it('CheckpointStore.read, verifying its sha256', async () => {
    const { grewMiB, result } = await grewWhileReading(
      s3,
      `const { files } = await new storage.CheckpointStore(store).read(store.uri(${JSON.stringify(checkpoint)}));
       return files['m/weights.bin'].length;`,
    );
    expect(result).toBe(SIZE);
    expect(grewMiB).toBeLessThan(1.5 * (SIZE / MiB));
  }, 60_000);

  it('as tfjs model artifacts (storeIOHandler, as a base or an imported model is loaded)', async () => {
    const { grewMiB, result } = await grewWhileReading(
      s3,
      `return (await storage.storeIOHandler(store, ${JSON.stringify(`${checkpoint}m/`)}).load()).weightData.byteLength;`,
    );
    expect(result).toBe(SIZE);
    expect(grewMiB).toBeLessThan(1.5 * (SIZE / MiB));
  }, 60_000);
});

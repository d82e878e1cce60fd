// The streamed input pipeline at 224×224×3 from an S3 server over HTTP (s3rver, as the tests use).
// `npm run bench:data -- [--stream-images 1000] [--stream-size 224] [--augment-rows] [--no-js-baseline]`
// runs it after data.ts's in-memory figures (`--no-stream` skips it); `node dist/tools/bench/data-stream.js`
// runs it alone. Every row that augments runs twice, on the wasm SIMD kernel and on the JS pass
// (TRAINYARD_AUGMENT_KERNEL=js in the child: the baseline, side by side; `--no-js-baseline` skips it).
// `--augment-rows` runs only the rows that augment without decoding (augment only, packed pixels).
// Writes `images` JPEGs (256×256, the synthetic-shapes classes) and 4× as many again to local folders,
// packs both into versions on the server (4 MiB shards), then streams each in a fresh child process (so
// its peak RSS is its own): decode-only and augmented batches with 1 and 2 threads, the
// augmentation alone on decoded images in memory, and the peak RSS of the small and the large
// version under the same stream settings (the memory bound does not depend on the dataset size).
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  augmentationKernel,
  createBatchPipeline,
  createPackedPipeline,
  packImageFolder,
  PACKED_ROOT,
  readPackedManifest,
} from '@trainyard/datasets';
import { LocalObjectStore, S3ObjectStore } from '@trainyard/storage';
import { startS3TestServer } from '@trainyard/storage/testing';
import { writeSyntheticImageFolder } from './data-folder';
import { BENCH_AUGMENTATION, numberFlag as flag } from './data-settings';

const BATCH = 32;
const SHUFFLE_BUFFER = 1000;
const READ_AHEAD = 2;
const SHARD_BYTES = 4 * 1024 * 1024;
const PREFETCH = 4;

interface Job {
  endpoint: string;
  bucket: string;
  version: string;
  size: number;
  threads: number;
  mode: 'decode' | 'augmented' | 'augment-only';
  /** 'js' forces the JS augmentation pass (TRAINYARD_AUGMENT_KERNEL=js); 'auto' takes the wasm kernel if it loads. */
  kernel: 'js' | 'auto';
}
interface JobResult {
  images: number;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  /** The kernel that augmented ('wasm-simd' or 'js'). */
  kernel: string;
}

const store = (endpoint: string, bucket: string) =>
  new S3ObjectStore({ endpoint, bucket, accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' });

/** In a child process: one epoch of the version (after a few warm-up batches), timed. */
async function child(job: Job): Promise<JobResult> {
  const s3 = store(job.endpoint, job.bucket);
  const manifest = await readPackedManifest(s3, job.version);
  const shape: [number, number, number] = [job.size, job.size, 3];
  const trainIds = Int32Array.from({ length: manifest.images }, (_, i) => i);
  const packed = createPackedPipeline({
    manifest,
    source: { store: s3, root: PACKED_ROOT },
    trainIds,
    imageShape: shape,
    fit: 'cover',
    batchSize: BATCH,
    augmentation: job.mode === 'augmented' ? BENCH_AUGMENTATION : null,
    seed: 1,
    shuffleBuffer: SHUFFLE_BUFFER,
    readAhead: READ_AHEAD,
    prefetch: PREFETCH,
    threads: job.threads,
    maxBadFraction: 0,
  });
  let images = 0;
  let started = process.hrtime.bigint();
  let cpu = process.cpuUsage();
  let warm = 0;
  const startClock = () => {
    started = process.hrtime.bigint();
    cpu = process.cpuUsage();
  };
  try {
    if (job.mode === 'augment-only') {
      // Decoded once into memory (a few hundred images), then augmented by the in-memory pipeline.
      const count = Math.min(256, manifest.images);
      const images0 = new Float32Array(count * shape[0] * shape[1] * shape[2]);
      let at = 0;
      for await (const b of packed.batches(0)) {
        const room = Math.min(b.x.length, images0.length - at);
        images0.set(b.x.subarray(0, room), at);
        at += room;
        if (at >= images0.length) break;
      }
      const pipeline = createBatchPipeline({
        dataset: { images: images0, labels: new Int32Array(count), count, imageShape: shape },
        batchSize: BATCH,
        seed: 1,
        augmentation: BENCH_AUGMENTATION,
        threads: job.threads,
        prefetch: 8,
      });
      for await (const _ of pipeline.batches(0)) void _;
      startClock();
      for await (const b of pipeline.batches(1, 5)) images += b.count;
      await pipeline.close();
    } else {
      // A few warm-up batches (thread start, JIT), fewer on a tiny version.
      const warmUp = Math.min(3, Math.floor(packed.stepsPerEpoch / 4));
      for await (const b of packed.batches(0)) {
        if (warm++ === warmUp) startClock();
        else if (warm > warmUp) images += b.count;
      }
    }
  } finally {
    await packed.close();
  }
  const used = process.cpuUsage(cpu);
  return {
    images,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    kernel: augmentationKernel().kernel,
  };
}

function runChild(job: Job): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    // The threads inherit the child's environment, so they run the same kernel.
    const env = { ...process.env };
    if (job.kernel === 'js') env.TRAINYARD_AUGMENT_KERNEL = 'js';
    else delete env.TRAINYARD_AUGMENT_KERNEL;
    const proc = fork(__filename, ['--child', JSON.stringify(job)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env,
    });
    proc.on('message', (m) => resolve(m as JobResult));
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? undefined : reject(new Error(`bench child exited ${code}`))));
  });
}

export async function streamBench(): Promise<void> {
  const count = flag('stream-images', 1000);
  const size = flag('stream-size', 224);
  const augmentRowsOnly = process.argv.includes('--augment-rows');
  const jsBaseline = !process.argv.includes('--no-js-baseline');
  const load = () => `load ${loadavg()[0].toFixed(1)}`;
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const server = await startS3TestServer();
  const dir = await mkdtemp(join(tmpdir(), 'trainyard-bench-stream-'));
  try {
    const s3 = store(server.endpoint, server.bucket);
    let started = process.hrtime.bigint();
    const small = await writeSyntheticImageFolder(join(dir, 'small'), count, 256, { format: 'jpeg', seed: 1 });
    const large = augmentRowsOnly
      ? 0
      : await writeSyntheticImageFolder(join(dir, 'large'), 4 * count, 256, { format: 'jpeg', seed: 2 });
    const secs = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
    say(
      `wrote ${count}${augmentRowsOnly ? '' : ` + ${4 * count}`} JPEGs (256×256, ${(small / count / 1024).toFixed(1)} KB each) in ${secs(started).toFixed(1)} s; target ${size}×${size}×3, batch ${BATCH}`,
    );
    started = process.hrtime.bigint();
    const smallVersion = await packImageFolder(new LocalObjectStore(join(dir, 'small')), '', s3, {
      shardBytes: SHARD_BYTES,
    });
    say(`pack (read, tar, put to s3rver) ${count} images: ${(count / secs(started)).toFixed(0)} images/s  (${load()})`);
    started = process.hrtime.bigint();
    const rawVersion = await packImageFolder(new LocalObjectStore(join(dir, 'small')), '', s3, {
      shardBytes: SHARD_BYTES,
      decodeTo: { imageShape: [size, size, 3], fit: 'cover' },
    });
    say(
      `pack with decodeTo ${size}×${size}×3 (decode, resize, tar, put) ${count} images: ${(count / secs(started)).toFixed(0)} images/s  (${load()})`,
    );
    const largeVersion = augmentRowsOnly
      ? null
      : await packImageFolder(new LocalObjectStore(join(dir, 'large')), '', s3, { shardBytes: SHARD_BYTES });
    const perImage = size * size * 3 * 4;
    const bound = SHUFFLE_BUFFER * (small / count) + (READ_AHEAD + 2) * SHARD_BYTES + 2 * PREFETCH * BATCH * perImage;
    say(
      `stream settings: shuffle buffer ${SHUFFLE_BUFFER}, read-ahead ${READ_AHEAD} shards of ${SHARD_BYTES / 2 ** 20} MiB, prefetch ${PREFETCH} batches → data held ≤ ~${(bound / 2 ** 20).toFixed(0)} MB`,
    );
    const job = (version: string, mode: Job['mode'], threads: number, kernel: Job['kernel'] = 'auto'): Job => ({
      endpoint: server.endpoint,
      bucket: server.bucket,
      version,
      size,
      threads,
      mode,
      kernel,
    });
    const line = (what: string, r: JobResult) =>
      say(
        `${what.padEnd(56)} ${(r.images / r.seconds).toFixed(0).padStart(6)} images/s  (${(r.images / r.cpuSeconds).toFixed(0)} per CPU-second, peak RSS ${r.peakRssMb.toFixed(0)} MB, ${load()})`,
      );
    const rows: [string, string, Job['mode'], boolean][] = [
      ['stream, decode only', smallVersion.version, 'decode', false],
      ['augment only (in memory)', smallVersion.version, 'augment-only', true],
      ['stream, decode + augment', smallVersion.version, 'augmented', false],
      ['stream, packed pixels, plain', rawVersion.version, 'decode', true],
      ['stream, packed pixels + augment', rawVersion.version, 'augmented', true],
    ];
    for (const [what, version, mode, augmentRow] of rows) {
      if (augmentRowsOnly && !augmentRow) continue;
      const kernels: Job['kernel'][] = mode !== 'decode' && jsBaseline ? ['auto', 'js'] : ['auto'];
      for (const threads of [1, 2])
        for (const kernel of kernels) {
          const r = await runChild(job(version, mode, threads, kernel));
          line(`${what}, ${threads} thread(s)${mode === 'decode' ? '' : `, ${r.kernel}`}`, r);
        }
    }
    if (!largeVersion) return;
    const decodedGb = (n: number) => ((n * perImage) / 2 ** 30).toFixed(2);
    const s = await runChild(job(smallVersion.version, 'augmented', 2));
    line(`${count} images (${decodedGb(count)} GB decoded), 2 threads`, s);
    const l = await runChild(job(largeVersion.version, 'augmented', 2));
    line(`${4 * count} images (${decodedGb(4 * count)} GB decoded), 2 threads`, l);
    say(
      `largest streamed: ${4 * count} images, ${(large / 2 ** 20).toFixed(0)} MB encoded, ${decodedGb(4 * count)} GB as floats = ${((4 * count * perImage) / bound).toFixed(1)}× the data bound; peak RSS ${s.peakRssMb.toFixed(0)} → ${l.peakRssMb.toFixed(0)} MB from ${count} to ${4 * count} images`,
    );
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf('--child');
if (childAt >= 0) {
  child(JSON.parse(process.argv[childAt + 1]) as Job).then(
    (r) => process.send!(r, undefined, {}, () => process.exit(0)),
    (error: Error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    },
  );
} else if (require.main === module) {
  streamBench().catch((error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  });
}

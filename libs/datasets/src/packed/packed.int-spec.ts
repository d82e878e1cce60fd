import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ObjectNotFoundError, type ObjectStore, S3ObjectStore } from '@trainyard/storage';
import { startS3TestServer, type S3TestServer } from '@trainyard/storage/testing';
import { loadImageFolder } from '../image-folder.dataset';
import { fixtureImage, imageIdentities } from '../image-folder.fixture';
import { EpochReader } from './epoch-reader';
import { loadPackedDataset, readPackedManifest } from './load-packed';
import { packImageFolder, PackSourceChangedError, type PackedVersion } from './pack-image-folder';
import { encodeManifest, packedManifestKey, packedShardKey, shardStarts } from './packed-manifest';
import { createPackedPipeline, type PackedPipelineOptions } from './packed-pipeline';
import { ShardCache } from './shard-cache';
import { epochStreamPlan } from './stream-order';
import { type BadImage, TooManyBadImagesError, UnusableClassesError } from './unusable-images';

/** Counts the reads that reach S3, so tests see what a resume or the cache spares. */
function counting(store: ObjectStore): ObjectStore & { gets: string[] } {
  const gets: string[] = [];
  return Object.assign(Object.create(store) as ObjectStore, {
    gets,
    get: (key: string) => {
      gets.push(key);
      return store.get(key);
    },
  });
}

async function collect(pipeline: ReturnType<typeof createPackedPipeline>, from: number, to: number, first = 0) {
  const out = [];
  for await (const b of pipeline.batches(from, to, first)) out.push(b);
  return out;
}

// Packing a folder under an S3 prefix and streaming it back over real HTTP (s3rver).
describe('packed datasets over S3', () => {
  let server: S3TestServer;
  let s3: S3ObjectStore;
  let cacheDir: string;
  const prefix = `datasets/${randomUUID()}/`;
  const root = `packed-${randomUUID()}/`;
  let packed: PackedVersion;
  const classes = ['circle', 'square', 'triangle'];
  const split = { validation: 0.2, test: 0.2 };
  const imageShape: [number, number, number] = [8, 8, 3];

  beforeAll(async () => {
    server = await startS3TestServer();
    s3 = new S3ObjectStore({ ...server, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 20 } });
    cacheDir = await mkdtemp(join(tmpdir(), 'trainyard-shard-cache-'));
    for (const [c, name] of classes.entries())
      for (let i = 0; i < 20; i++) await s3.put(`${prefix}${name}/${i}.png`, await fixtureImage('png', c * 100 + i));
    packed = await packImageFolder(s3, prefix, s3, { shardBytes: 600, root });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const options = (over: Partial<PackedPipelineOptions> = {}): PackedPipelineOptions => ({
    manifest: packed.manifest,
    source: { store: s3, root },
    trainIds: Int32Array.from({ length: packed.manifest.images }, (_, i) => i),
    imageShape,
    fit: 'fill',
    batchSize: 7,
    seed: 3,
    shuffleBuffer: 4,
    readAhead: 1,
    threads: 0,
    maxBadFraction: 0,
    ...over,
  });

  it('packs into content-addressed shards and a manifest whose sha256 is the version, the same every time', async () => {
    expect(packed.manifest.images).toBe(60);
    expect(packed.manifest.classNames).toEqual(classes);
    expect(packed.manifest.shards.length).toBeGreaterThan(5);
    expect(packed.version).toBe(encodeManifest(packed.manifest).version);
    for (const shard of packed.manifest.shards)
      expect((await s3.get(packedShardKey(shard.sha256, root))).length).toBe(shard.bytes);
    // A shard mixes classes: the pack order is shuffled.
    expect(new Set(packed.manifest.shards[0].entries.map((e) => e.label)).size).toBeGreaterThan(1);
    const again = await packImageFolder(s3, prefix, s3, { shardBytes: 600, root });
    expect(again.version).toBe(packed.version);
    expect(await readPackedManifest(s3, packed.version, root)).toEqual(packed.manifest);
  });

  it('refuses a manifest whose bytes are not the version they are stored under', async () => {
    const fake = 'f'.repeat(64);
    await s3.put(packedManifestKey(fake, root), encodeManifest(packed.manifest).bytes);
    await expect(readPackedManifest(s3, fake, root)).rejects.toThrow(/altered or truncated/);
  });

  it('splits by the split seed, decodes the holdouts and streams every training image once per epoch', async () => {
    const data = await loadPackedDataset({ store: s3, root }, packed.version, {
      imageShape,
      fit: 'fill',
      seed: 1,
      split,
    });
    expect(data.validation.count + data.test.count + data.trainIds.length).toBe(60);
    expect(data.test.count).toBe(12);
    expect(data.sample.count).toBe(data.trainIds.length);
    const pipeline = createPackedPipeline(options({ trainIds: data.trainIds }));
    const batches = await collect(pipeline, 0, 2);
    await pipeline.close();
    expect(batches.map((b) => [b.epoch, b.step])).toEqual(
      [0, 1].flatMap((e) => Array.from({ length: Math.ceil(36 / 7) }, (_, s) => [e, s])),
    );
    const labels = (e: number) =>
      batches
        .filter((b) => b.epoch === e)
        .flatMap((b) => Array.from(b.y))
        .sort();
    const expected = Array.from(
      data.trainIds,
      (id) => packed.manifest.shards.flatMap((s) => s.entries)[id].label,
    ).sort();
    expect(labels(0)).toEqual(expected);
    expect(labels(1)).toEqual(expected);
    expect(batches[0].x.length).toBe(7 * 8 * 8 * 3);
    expect(Math.max(...batches[0].x)).toBeLessThanOrEqual(1);
  });

  it('holds out the same images as the folder it was packed from: both split by key', async () => {
    const opts = { imageShape, fit: 'fill' as const, seed: 1 };
    const folder = await loadImageFolder(s3, prefix, { ...opts, split });
    const version = await loadPackedDataset({ store: s3, root }, packed.version, { ...opts, split });
    expect(imageIdentities(version.test)).toEqual(imageIdentities(folder.test));
    expect(imageIdentities(version.validation)).toEqual(imageIdentities(folder.validation));
    // The sample holds every training image here (36 < 256).
    expect(imageIdentities(version.sample)).toEqual(imageIdentities(folder.train));
    // By position the two listings (the folder's sorted, the pack's shuffled) hold out other images:
    // why an evaluation of a position-split run must read the data as the run did.
    const byPosition = { ...split, assign: 'position' as const };
    const folderByPosition = await loadImageFolder(s3, prefix, { ...opts, split: byPosition });
    const versionByPosition = await loadPackedDataset({ store: s3, root }, packed.version, {
      ...opts,
      split: byPosition,
    });
    expect(imageIdentities(versionByPosition.test)).not.toEqual(imageIdentities(folderByPosition.test));
  });

  it('serves the same batches on any number of threads, augmented or not', async () => {
    const augmentation = {
      rotationRange: 20,
      horizontalFlip: true,
      zoomRange: 0.2,
    } as PackedPipelineOptions['augmentation'];
    const inline = createPackedPipeline(options({ augmentation }));
    const threaded = createPackedPipeline(options({ augmentation, threads: 2, prefetch: 3 }));
    try {
      const a = await collect(inline, 0, 1);
      const b = await collect(threaded, 0, 1);
      expect(b.map((x) => x.y)).toEqual(a.map((x) => x.y));
      expect(b.map((x) => x.x)).toEqual(a.map((x) => x.x));
      const plain = createPackedPipeline(options());
      const c = await collect(plain, 0, 1);
      expect(c.map((x) => x.x)).not.toEqual(a.map((x) => x.x)); // augmentation did something
    } finally {
      await Promise.all([inline.close(), threaded.close()]);
    }
  });

  it('starts mid-epoch exactly where an uninterrupted run would be, reading only the shards still to come', async () => {
    const full = createPackedPipeline(options({ source: { store: counting(s3), root } }));
    const whole = await collect(full, 1, 2);
    const store = counting(s3);
    const resumed = createPackedPipeline(options({ source: { store, root } }));
    const tail = await collect(resumed, 1, 3, 6);
    expect(tail.slice(0, whole.length - 6)).toEqual(whole.slice(6));
    expect(tail[whole.length - 6]).toMatchObject({ epoch: 2, step: 0 });
    // The first batch of epoch 1 after the resume point needed fewer shards than the epoch holds.
    const shardsOfEpoch = packed.manifest.shards.length;
    const firstEpochReads = store.gets.length - shardsOfEpoch; // epoch 2 reads every shard
    expect(firstEpochReads).toBeLessThan(shardsOfEpoch);
  });

  it('holds no more than the shuffle buffer plus the shards read ahead, whatever the dataset size', async () => {
    const starts = shardStarts(packed.manifest);
    const trainIdsByShard = packed.manifest.shards.map((_, s) =>
      Int32Array.from({ length: starts[s + 1] - starts[s] }, (_, j) => starts[s] + j),
    );
    const plan = epochStreamPlan(trainIdsByShard, 60, 5, 0, 4);
    const reader = new EpochReader(packed.manifest, starts, plan, 0, { store: s3, root }, 1);
    const perShard = Math.max(...packed.manifest.shards.map((s) => s.entries.length));
    let most = 0;
    const served: number[] = [];
    for (let p = 0; p < 60; p++) {
      served.push((await reader.take(p)).id);
      most = Math.max(most, await reader.held());
    }
    expect(served).toEqual(Array.from(plan.emission));
    expect(most).toBeLessThanOrEqual(4 + 2 * perShard);
  });

  it('reads shards from the node cache once they are there', async () => {
    const cache = new ShardCache({ dir: cacheDir, maxBytes: 1 << 20 });
    await collect(createPackedPipeline(options({ source: { store: s3, root, cache } })), 0, 1);
    const store = counting(s3);
    const second = await collect(createPackedPipeline(options({ source: { store, root, cache } })), 0, 1);
    expect(store.gets).toEqual([]);
    expect(second.reduce((n, b) => n + b.count, 0)).toBe(60);
  });

  it('packs decoded pixels when asked: the same images served without decoding, only at that shape', async () => {
    const raw = await packImageFolder(s3, prefix, s3, { shardBytes: 600, root, decodeTo: { imageShape, fit: 'fill' } });
    expect(raw.manifest.pixels).toEqual({ imageShape, fit: 'fill' });
    expect(raw.manifest.shards[0].entries[0].bytes).toBe(8 * 8 * 3);
    const images = async (version: PackedVersion) => {
      const pipeline = createPackedPipeline(options({ manifest: version.manifest, threads: 1 }));
      const batches = await collect(pipeline, 0, 1);
      await pipeline.close();
      const rows = batches.flatMap((b) =>
        Array.from(
          { length: b.count },
          (_, i) => `${b.y[i]}:${Array.from(b.x.subarray(i * 192, (i + 1) * 192), (v) => v.toFixed(5))}`,
        ),
      );
      return rows.sort();
    };
    expect(await images(raw)).toEqual(await images(packed));
    expect(() => createPackedPipeline(options({ manifest: raw.manifest, imageShape: [8, 8, 1] }))).toThrow(
      /decoded to 8×8×3 \(fill\); asked for 8×8×1 \(fill\)/,
    );
  });

  describe('a folder that changes while it is packed', () => {
    /** The source as the pack reads it: once `after` files were read, `change` runs (once). */
    const changing = (after: number, change: () => Promise<void>): ObjectStore => {
      let reads = 0;
      return Object.assign(Object.create(s3) as ObjectStore, {
        get: async (key: string) => {
          if (++reads === after) await change();
          return s3.get(key);
        },
      });
    };
    const keysUnder = async (under: string) => (await s3.list(under)).map((o) => o.key);

    it('fails when a listed file is gone, writing no manifest and removing the shards it added', async () => {
      const folder = `datasets/${randomUUID()}/`;
      const files: string[] = [];
      for (const name of classes) for (let i = 0; i < 10; i++) files.push(`${folder}${name}/${i}.png`);
      for (const [i, key] of files.entries()) await s3.put(key, await fixtureImage('png', i));
      const fresh = `packed-${randomUUID()}/`;
      // The upload is deleted after 12 of its 30 files were read: 3 shards of 4 written by then.
      const deleting = changing(12, () => s3.delete(files));
      const failed = packImageFolder(deleting, folder, s3, { shardBytes: 600, root: fresh });
      await expect(failed).rejects.toThrow(PackSourceChangedError);
      await expect(failed).rejects.toThrow(
        new RegExp(`^${s3.uri(folder)} changed while it was packed: ${s3.uri(folder)}\\S+ was listed but is gone`),
      );
      expect(await keysUnder(fresh)).toEqual([]);
    });

    it('keeps the shards another version holds, and that version whole, when a pack of the same files fails', async () => {
      const before = await keysUnder(root);
      let reads = 0;
      // The same folder as `packed`, whose files vanish after 40 were read: the shards written by
      // then are byte for byte that version's.
      const vanishing = Object.assign(Object.create(s3) as ObjectStore, {
        get: async (key: string) => {
          if (++reads > 40) throw new ObjectNotFoundError(key, s3.description);
          return s3.get(key);
        },
      });
      await expect(packImageFolder(vanishing, prefix, s3, { shardBytes: 600, root })).rejects.toThrow(
        PackSourceChangedError,
      );
      expect(await keysUnder(root)).toEqual(before);
      const data = await loadPackedDataset({ store: s3, root }, packed.version, {
        imageShape,
        fit: 'fill',
        seed: 1,
        split,
      });
      expect(data.unusable.size).toBe(0);
    });
    it('writes no manifest when the check before it refuses, and removes the shards', async () => {
      const fresh = `packed-${randomUUID()}/`;
      const refused = packImageFolder(s3, prefix, s3, {
        shardBytes: 600,
        root: fresh,
        beforeManifest: async () => {
          expect((await keysUnder(fresh)).length).toBe(packed.manifest.shards.length);
          throw new Error('dataset deleted meanwhile');
        },
      });
      await expect(refused).rejects.toThrow('dataset deleted meanwhile');
      expect(await keysUnder(fresh)).toEqual([]);
    });
  });

  describe('a class with no image a run can use', () => {
    it('is refused by the pack, naming it, encoded or decoded, and leaves nothing behind', async () => {
      const folder = `datasets/${randomUUID()}/`;
      for (let i = 0; i < 12; i++) await s3.put(`${folder}ok/${i}.png`, await fixtureImage('png', i));
      // Pages saved as .jpg: no image's signature, and nothing sharp decodes.
      for (let i = 0; i < 6; i++) await s3.put(`${folder}bad/${i}.jpg`, Buffer.from('<html>Not found</html>'));
      const fresh = `packed-${randomUUID()}/`;
      await expect(packImageFolder(s3, folder, s3, { shardBytes: 600, root: fresh })).rejects.toThrow(
        `image folder ${s3.uri(folder)} cannot be used: class "bad" has no PNG, JPEG or WebP image: none of its 6 files starts as one (a run could not learn it)`,
      );
      const decodeTo = { imageShape, fit: 'fill' as const };
      await expect(packImageFolder(s3, folder, s3, { shardBytes: 600, root: fresh, decodeTo })).rejects.toThrow(
        'class "bad" has no readable image: its 6 files were left out (a run could not learn it)',
      );
      expect(await s3.list(fresh)).toEqual([]);
    });

    it('leaves a file without an image signature out of an encoded pack and lists it, as a load skips it', async () => {
      const folder = `datasets/${randomUUID()}/`;
      for (const c of ['a', 'b'])
        for (let i = 0; i < 4; i++) await s3.put(`${folder}${c}/${i}.png`, await fixtureImage('png', i));
      await s3.put(`${folder}a/page.jpg`, Buffer.from('<html>Not found</html>'));
      await s3.put(`${folder}b/empty.png`, Buffer.alloc(0));
      // A TIFF named .png: sharp would decode it, no dataset holds it.
      await s3.put(`${folder}b/scan.png`, Buffer.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0, 0, 0, 0, 0]));
      const encoded = await packImageFolder(s3, folder, s3, { shardBytes: 600, root });
      const expected = [
        {
          file: `${folder}a/page.jpg`,
          reason: 'not a readable image: not a PNG, JPEG or WebP image (it starts with 3c 68 74 6d 6c 3e 4e 6f)',
        },
        { file: `${folder}b/empty.png`, reason: 'the file is empty (0 bytes)' },
        {
          file: `${folder}b/scan.png`,
          reason: 'not a readable image: not a PNG, JPEG or WebP image (it starts with 49 49 2a 00 08 00 00 00)',
        },
      ];
      const byFile = (a: { file: string }, b: { file: string }) => (a.file < b.file ? -1 : 1);
      expect([...encoded.skipped].sort(byFile)).toEqual(expected);
      expect([...(encoded.manifest.skipped ?? [])].sort(byFile)).toEqual(expected);
      expect(encoded.manifest.images).toBe(8);
      const packedKeys = encoded.manifest.shards.flatMap((s) => s.entries.map((e) => e.key));
      expect(packedKeys.every((k) => k.endsWith('.png') && !k.includes('empty') && !k.includes('scan'))).toBe(true);
      // The same files, with the same reasons, as a load of the folder skips.
      const loaded = await loadImageFolder(s3, folder, { imageShape, seed: 0 });
      expect([...loaded.skipped].sort(byFile)).toEqual(expected);
    });

    it('fails the stream once every image of a class turned out unusable, whatever maxBadFraction allows', async () => {
      const folder = `datasets/${randomUUID()}/`;
      for (let i = 0; i < 6; i++) await s3.put(`${folder}a/${i}.png`, await fixtureImage('png', i));
      // A JPEG's signature and nothing more: an encoded pack keeps them, a decode fails.
      for (let i = 0; i < 6; i++) await s3.put(`${folder}b/${i}.jpg`, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]));
      const truncated = await packImageFolder(s3, folder, s3, { shardBytes: 600, root });
      const told: BadImage[] = [];
      const pipeline = createPackedPipeline(
        options({
          manifest: truncated.manifest,
          trainIds: Int32Array.from({ length: 12 }, (_, i) => i),
          maxBadFraction: 1,
          onBad: (b) => told.push(b),
        }),
      );
      const run = collect(pipeline, 0, 1).finally(() => pipeline.close());
      await expect(run).rejects.toThrow(UnusableClassesError);
      await expect(run).rejects.toThrow('class "b" (all 6 unusable) has no usable image in the packed version');
      expect(told).toHaveLength(6);
    });
  });

  describe('with a bad picture, a missing shard and a truncated shard', () => {
    const badPrefix = `datasets/${randomUUID()}/`;
    let version: PackedVersion;
    let decoded: PackedVersion;
    let missingKeys: string[];
    let truncatedKeys: string[];
    beforeAll(async () => {
      for (let i = 0; i < 12; i++) await s3.put(`${badPrefix}a/${i}.png`, await fixtureImage('png', i));
      for (let i = 0; i < 12; i++) await s3.put(`${badPrefix}b/${i}.png`, await fixtureImage('png', 50 + i));
      await s3.put(`${badPrefix}b/corrupt.jpg`, Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]));
      version = await packImageFolder(s3, badPrefix, s3, { shardBytes: 600, root });
      decoded = await packImageFolder(s3, badPrefix, s3, { root, decodeTo: { imageShape, fit: 'fill' } });
      const [missing, truncated] = version.manifest.shards.filter(
        (s) => !s.entries.some((e) => e.key.endsWith('corrupt.jpg')),
      );
      await s3.delete([packedShardKey(missing.sha256, root)]);
      const bytes = await s3.get(packedShardKey(truncated.sha256, root));
      await s3.put(packedShardKey(truncated.sha256, root), bytes.subarray(0, bytes.length - 700));
      missingKeys = missing.entries.map((e) => e.key);
      truncatedKeys = truncated.entries.map((e) => e.key);
    });
    const badOptions = (maxBadFraction: number, onBad?: (b: BadImage) => void) =>
      options({
        manifest: version.manifest,
        trainIds: Int32Array.from({ length: version.manifest.images }, (_, i) => i),
        maxBadFraction,
        onBad,
        threads: 1,
      });

    it('fails the stream past maxBadFraction, naming the image, and never hangs', async () => {
      const pipeline = createPackedPipeline(badOptions(0));
      await expect(collect(pipeline, 0, 1)).rejects.toThrow(
        /unusable, more than maxBadFraction 0 allows \(the last: datasets\//,
      );
      await pipeline.close();
    });

    it('skips and names each of them within maxBadFraction', async () => {
      const bad: BadImage[] = [];
      const pipeline = createPackedPipeline(badOptions(0.9, (b) => bad.push(b)));
      const batches = await collect(pipeline, 0, 2);
      await pipeline.close();
      const expectedBad = 1 + missingKeys.length + truncatedKeys.length;
      expect(pipeline.badCount()).toBe(expectedBad);
      expect(bad).toHaveLength(expectedBad); // named once, though met in both epochs
      expect(bad.find((b) => b.file.endsWith('corrupt.jpg'))?.reason).toMatch(/^not a readable image/);
      expect(bad.filter((b) => missingKeys.includes(b.file)).map((b) => b.reason)).toEqual(
        missingKeys.map(() => expect.stringMatching(/the object is missing/)),
      );
      expect(bad.filter((b) => truncatedKeys.includes(b.file)).map((b) => b.reason)).toEqual(
        truncatedKeys.map(() => expect.stringMatching(/truncated or altered/)),
      );
      const served = batches.filter((b) => b.epoch === 0).reduce((n, b) => n + b.count, 0);
      expect(served).toBe(25 - expectedBad);
    });

    it('a pack that decodes leaves the bad picture out and lists it, and the run data names it', async () => {
      expect(decoded.manifest.images).toBe(24);
      expect(decoded.manifest.skipped).toEqual([
        { file: `${badPrefix}b/corrupt.jpg`, reason: expect.stringMatching(/^not a readable image/) },
      ]);
      const data = await loadPackedDataset({ store: s3, root }, decoded.version, {
        imageShape,
        fit: 'fill',
        seed: 0,
        split,
      });
      // Left out, not unusable: no image of the version, so none counts against maxBadFraction.
      expect(data.leftOut).toEqual(decoded.manifest.skipped);
      expect(data.unusable.size).toBe(0);
    });

    it("counts the holdouts' unusable images and the stream's against one share of the version", async () => {
      const entries = version.manifest.shards.flatMap((s) => s.entries);
      const corrupt = entries.findIndex((e) => e.key.endsWith('corrupt.jpg'));
      const missing = new Set(missingKeys);
      // Stream the images of the missing shard only; the corrupt picture was found (as a holdout) before.
      const trainIds = Int32Array.from(entries.flatMap((e, id) => (missing.has(e.key) ? [id] : [])));
      const unusableBefore = new Map([[corrupt, { file: entries[corrupt].key, reason: 'not a readable image' }]]);
      const stream = (maxBadFraction: number) => {
        const told: BadImage[] = [];
        const pipeline = createPackedPipeline(
          options({
            manifest: version.manifest,
            trainIds,
            maxBadFraction,
            unusableBefore,
            onBad: (b) => told.push(b),
          }),
        );
        return { told, run: collect(pipeline, 0, 1).finally(() => pipeline.close()) };
      };
      // The missing shard's images and the corrupt holdout, of the version's 25: exactly the share allowed.
      const allowed = (missingKeys.length + 1) / 25;
      const within = stream(allowed);
      await within.run;
      expect(within.told.map((b) => b.file).sort()).toEqual([...missingKeys].sort()); // the holdout is not told again
      // One fewer allowed: the holdout and the stream's together are one too many.
      const past = stream((missingKeys.length + 0.5) / 25);
      await expect(past.run).rejects.toThrow(TooManyBadImagesError);
      await expect(past.run).rejects.toThrow(
        new RegExp(`^${missingKeys.length + 1} of the version's 25 images are unusable`),
      );
    });
  });
});

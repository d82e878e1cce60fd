import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataReport, ImageFolderDatasetSchema } from '@trainyard/contracts';
import {
  encodeManifest,
  packImageFolder,
  packedManifestKey,
  packedShardKey,
  readPackedManifest,
  TooManyBadImagesError,
  UnusableClassesError,
} from '@trainyard/datasets';
import { LocalObjectStore } from '@trainyard/storage';
import sharp from 'sharp';
import { trainingFailure } from './run-training-job';
import { loadStreamedRunData } from './streamed-run-data';

/** A 12×12 PNG whose colours depend on `seed`. */
function picture(seed: number): Promise<Buffer> {
  const data = Buffer.alloc(12 * 12 * 3, 0);
  for (let p = 0; p < data.length; p++) data[p] = (p * 7 + seed * 31) % 251;
  return sharp(data, { raw: { width: 12, height: 12, channels: 3 } })
    .png()
    .toBuffer();
}
/** The run's failure reason for what refused it (run r1). */
function reasonOf(error: unknown): string {
  const outcome = trainingFailure('r1', error);
  return outcome.status === 'failed' ? outcome.reason : '';
}
/** Named as an image, bytes that are none: what a browser saves as .jpg from an error page. */
const HTML = Buffer.from('<html><body>Not found</body></html>');
/** A JPEG signature and nothing after it: packed as it is, found unusable when decoded. */
const TRUNCATED_JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]);

/**
 * A run's packed version opened as the training process opens it, from a local store: what counts
 * against `dataset.stream.maxBadFraction`, what the data report lists, and when it is recorded.
 */
describe('loadStreamedRunData', () => {
  let root: string;
  let store: LocalObjectStore;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'trainyard-streamed-run-data-'));
    store = new LocalObjectStore(root);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const dataset = (stream: { version: string; maxBadFraction: number }, imageShape = [12, 12, 3]) =>
    ImageFolderDatasetSchema.parse({
      name: 'image-folder',
      datasetId: '0b3c5f3e-9a59-4c1e-8d67-1f1f2b3c4d5e',
      imageShape,
      fit: 'fill',
      split: { validation: 0.1, test: 0.2, seed: 0 },
      stream: { shuffleBuffer: 8, readAheadShards: 1, threads: 1, ...stream },
    });
  const load = (spec: ReturnType<typeof dataset>, onReport?: (r: DataReport) => void) =>
    loadStreamedRunData(
      spec,
      spec.stream!,
      { storage: { driver: 'local', root } },
      {
        labeled: true,
        onReport,
      },
    );
  const imagesServed = async (stream: Awaited<ReturnType<typeof load>>['data']['stream']) => {
    const pipeline = stream.open({ batchSize: 8, augmentation: null, seed: 1 });
    let served = 0;
    try {
      for await (const batch of pipeline.batches(0)) served += batch.count;
    } finally {
      await pipeline.close();
    }
    return served;
  };

  it('trains at maxBadFraction 0 from a decoded version whose pack left files out, and reports them as left out', async () => {
    for (let i = 0; i < 27; i++) await store.put(`left-out/a/${i}.png`, await picture(i));
    for (let i = 0; i < 27; i++) await store.put(`left-out/b/${i}.png`, await picture(100 + i));
    for (let i = 0; i < 5; i++) await store.put(`left-out/a/bad${i}.jpg`, HTML);
    for (let i = 0; i < 5; i++) await store.put(`left-out/b/bad${i}.jpg`, TRUNCATED_JPEG);
    const packed = await packImageFolder(store, 'left-out/', store, {
      decodeTo: { imageShape: [12, 12, 3], fit: 'fill' },
    });
    expect({ images: packed.manifest.images, skipped: packed.skipped.length }).toEqual({ images: 54, skipped: 10 });

    const reports: DataReport[] = [];
    const { data, report } = await load(dataset({ version: packed.version, maxBadFraction: 0 }), (r) =>
      reports.push(r),
    );
    expect(report).toMatchObject({ files: 64, skippedCount: 10, packedVersion: packed.version });
    expect(report.skipped.map((s) => s.file).sort()).toEqual(packed.skipped.map((s) => s.file).sort());
    for (const s of report.skipped) expect(s.reason).toMatch(/^left out by the pack: not a readable image/);
    expect(reports).toEqual([]); // nothing met yet: the caller records `report`
    expect(await imagesServed(data.stream)).toBe(data.stream.count);
  });

  describe('a version with unusable images of its own', () => {
    let version: string;
    beforeAll(async () => {
      // 40 images, 4 of them a JPEG signature and nothing more: an encoded pack keeps them.
      for (let i = 0; i < 18; i++) await store.put(`unusable/a/${i}.png`, await picture(i));
      for (let i = 0; i < 18; i++) await store.put(`unusable/b/${i}.png`, await picture(100 + i));
      for (let i = 0; i < 2; i++) await store.put(`unusable/a/t${i}.jpg`, TRUNCATED_JPEG);
      for (let i = 0; i < 2; i++) await store.put(`unusable/b/t${i}.jpg`, TRUNCATED_JPEG);
      ({ version } = await packImageFolder(store, 'unusable/', store, { shardBytes: 2000 }));
    });

    it('counts them, holdouts and training images alike, against one share of the version', async () => {
      // All four are decoded now (holdouts, or the training sample): 4 of 40 is 0.1.
      const { report } = await load(dataset({ version, maxBadFraction: 0.1 }));
      expect(report).toMatchObject({ files: 40, skippedCount: 4 });
      expect(report.skipped.map((s) => s.reason)).toEqual(Array(4).fill(expect.stringMatching(/^not a readable/)));

      const reports: DataReport[] = [];
      const refused = await load(dataset({ version, maxBadFraction: 0.075 }), (r) => reports.push(r)).catch(
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(TooManyBadImagesError);
      expect((refused as Error).message).toMatch(
        /^4 of the version's 40 images are unusable, more than maxBadFraction 0.075 allows \(the last: unusable\/[ab]\/t\d.jpg: not a readable image/,
      );
      // The failed run still has its report, naming each image and why.
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ packedVersion: version, skippedCount: 4 });
      // The reason names the run once.
      expect(reasonOf(refused)).toMatch(/^run r1: 4 of the version's 40 images/);
    });

    it('records the report naming the image that fails the stream, when a shard goes missing mid-run', async () => {
      const reports: DataReport[] = [];
      const { data, report } = await load(dataset({ version, maxBadFraction: 0.25 }), (r) => reports.push(r));
      expect(report.skippedCount).toBe(4);
      // Every shard that holds a training image was read for the sample; one is now gone.
      const manifest = JSON.parse((await store.get(`datasets/packed/manifests/${version}.json`)).toString());
      const shards = manifest.shards as { sha256: string; entries: unknown[] }[];
      const big = shards.reduce((a, b) => (b.entries.length > a.entries.length ? b : a));
      await store.delete(shards.filter((s) => s !== big).map((s) => packedShardKey(s.sha256)));
      await expect(imagesServed(data.stream)).rejects.toThrow(TooManyBadImagesError);
      const last = reports.at(-1)!;
      expect(last.skippedCount).toBeGreaterThan(10); // 4 + more than 0.25 × 40 - 4
      expect(last.skipped.at(-1)!.reason).toMatch(/the object is missing/);
    });
  });

  describe('a version with a class a run cannot learn', () => {
    it('fails for good naming a class with no image packed, its report recorded', async () => {
      // A version packed before packs refused such a class: "bad" holds only files left out.
      for (let i = 0; i < 12; i++) await store.put(`no-class/ok/${i}.png`, await picture(i));
      for (let i = 0; i < 6; i++) await store.put(`no-class/other/${i}.png`, await picture(60 + i));
      const { version: good } = await packImageFolder(store, 'no-class/', store, {});
      const manifest = await readPackedManifest(store, good);
      const { bytes, version } = encodeManifest({
        ...manifest,
        classNames: ['bad', 'ok', 'other'],
        shards: manifest.shards.map((s) => ({ ...s, entries: s.entries.map((e) => ({ ...e, label: e.label + 1 })) })),
        skipped: Array.from({ length: 6 }, (_, i) => ({
          file: `no-class/bad/${i}.jpg`,
          reason: 'not a readable image',
        })),
      });
      await store.put(packedManifestKey(version), bytes);

      const reports: DataReport[] = [];
      const refused = await load(dataset({ version, maxBadFraction: 0.9 }), (r) => reports.push(r)).catch(
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(UnusableClassesError);
      expect(reasonOf(refused)).toMatch(
        /^run r1: image folder \S+ cannot be used: class "bad" \(no image packed\) has no usable image in the packed version \(the pack left out 6 files/,
      );
      expect(reports).toEqual([expect.objectContaining({ packedVersion: version, skippedCount: 6 })]);
    });

    it('fails for good naming a class whose every image is unusable', async () => {
      for (let i = 0; i < 12; i++) await store.put(`html/ok/${i}.png`, await picture(i));
      for (let i = 0; i < 6; i++) await store.put(`html/bad/${i}.jpg`, TRUNCATED_JPEG);
      const { version } = await packImageFolder(store, 'html/', store, {});
      const reports: DataReport[] = [];
      const refused = await load(dataset({ version, maxBadFraction: 0.9 }), (r) => reports.push(r)).catch(
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(UnusableClassesError);
      expect((refused as Error).message).toContain('class "bad" (all 6 unusable) has no usable image');
      expect(reports).toEqual([expect.objectContaining({ skippedCount: 6 })]);
    });
  });

  it('names the run once in a failure reason', async () => {
    for (let i = 0; i < 4; i++) await store.put(`shape/a/${i}.png`, await picture(i));
    for (let i = 0; i < 4; i++) await store.put(`shape/b/${i}.png`, await picture(50 + i));
    const { version } = await packImageFolder(store, 'shape/', store, {
      decodeTo: { imageShape: [12, 12, 3], fit: 'fill' },
    });
    const refused = await load(dataset({ version, maxBadFraction: 0 }, [16, 16, 3])).catch((e: unknown) => e);
    expect(reasonOf(refused)).toMatch(/^run r1: dataset.imageShape \/ dataset.fit: the version/);
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore } from '@trainyard/storage';
import sharp from 'sharp';
import { DECODE_PIXEL_BUDGET, DecodePixelBudget, FILES_IN_FLIGHT } from './decode-pixel-budget';
import { decodeImage, MAX_INPUT_PIXELS } from './image-decode';
import { loadImageFolder } from './image-folder.dataset';
import { writeFiles } from './image-folder.fixture';

/** An interlaced PNG of one colour: small as a file, held whole by libvips while it decodes. */
function interlacedPng(width: number, height: number, shade: number): Promise<Buffer> {
  const background = { r: shade, g: 255 - shade, b: 128 };
  return sharp({ create: { width, height, channels: 3, background } })
    .png({ progressive: true, compressionLevel: 1 })
    .toBuffer();
}

/** The most tasks sharp had on libuv's pool at once while `work` ran, sampled every millisecond. */
async function mostOnThePool<T>(work: () => Promise<T>): Promise<{ result: T; most: number }> {
  let most = 0;
  const sample = setInterval(() => (most = Math.max(most, sharp.counters().process)), 1);
  try {
    const result = await work();
    return { result, most };
  } finally {
    clearInterval(sample);
  }
}

describe('DecodePixelBudget', () => {
  it('lets one 50-megapixel picture decode alone, beside the eight files a load reads at once', () => {
    expect(DECODE_PIXEL_BUDGET).toBeGreaterThanOrEqual(MAX_INPUT_PIXELS);
    expect(DECODE_PIXEL_BUDGET).toBeLessThan(2 * MAX_INPUT_PIXELS);
    expect(FILES_IN_FLIGHT).toBe(8);
  });

  it('admits decodes while their pixels fit, in order, and one larger than the budget alone', async () => {
    const budget = new DecodePixelBudget(100);
    const log: string[] = [];
    const task = (name: string, pixels: number, ms: number) =>
      budget.run(pixels, async () => {
        log.push(`start ${name} (${budget.running} running)`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        log.push(`end ${name}`);
      });
    await Promise.all([task('a', 60, 20), task('b', 30, 5), task('huge', 500, 5), task('c', 10, 5)]);
    // a and b fit together; huge waits for both and runs alone; c, behind it, is not let ahead.
    expect(log).toEqual([
      'start a (1 running)',
      'start b (2 running)',
      'end b',
      'end a',
      'start huge (1 running)',
      'end huge',
      'start c (1 running)',
      'end c',
    ]);
    expect(budget.peak).toBe(500);
    expect(budget.inFlight).toBe(0);
  });

  it('refuses a budget that is not a positive integer, saying so', () => {
    expect(() => new DecodePixelBudget(0)).toThrow('a decode pixel budget must be a positive integer, got 0');
  });

  it('bounds real decodes by their pixels: a 1.5-megapixel budget decodes 1-megapixel pictures one at a time', async () => {
    const budget = new DecodePixelBudget(1_500_000);
    const pictures = await Promise.all(Array.from({ length: 6 }, (_, i) => interlacedPng(1000, 1000, 40 * i)));
    const { most } = await mostOnThePool(() =>
      Promise.all(pictures.map((bytes) => decodeImage(bytes, [16, 16, 3], 'cover', budget))),
    );
    expect(budget.peakRunning).toBe(1);
    expect(budget.peak).toBe(1_000_000);
    // sharp's own count: the headers are read up front, then one decode at a time (libuv runs 4).
    expect(most).toBeLessThanOrEqual(2);
  });

  it('keeps small pictures in flight together: 8 at once, as before the budget', async () => {
    const budget = new DecodePixelBudget(1_500_000);
    const small = await Promise.all(Array.from({ length: 16 }, (_, i) => interlacedPng(28, 28, i * 10)));
    await Promise.all(small.map((bytes) => decodeImage(bytes, [28, 28, 1], 'cover', budget)));
    expect(budget.peakRunning).toBeGreaterThan(1);
    expect(budget.peak).toBeLessThanOrEqual(16 * 28 * 28);
  });

  it('bounds a folder load: large pictures decode one at a time, all of them loaded', async () => {
    const root = await mkdtemp(join(tmpdir(), 'trainyard-decode-budget-'));
    try {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 4; i++) files[`a/${i}.png`] = await interlacedPng(1000, 1000, 30 * i);
      for (let i = 0; i < 4; i++) files[`b/${i}.png`] = await interlacedPng(1200, 900, 200 - 30 * i);
      await writeFiles(root, files);
      const decodeBudget = new DecodePixelBudget(1_500_000);
      const { result, most } = await mostOnThePool(() =>
        loadImageFolder(new LocalObjectStore(root), '', { imageShape: [16, 16, 3], seed: 0, decodeBudget }),
      );
      expect(result.stats.decoded).toBe(8);
      expect(result.skipped).toEqual([]);
      expect(decodeBudget.peakRunning).toBe(1);
      expect(decodeBudget.peak).toBeLessThanOrEqual(1_500_000);
      expect(most).toBeLessThanOrEqual(2);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

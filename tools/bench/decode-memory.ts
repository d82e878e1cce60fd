/**
 * What decoding a folder costs in memory and time, one figure per process (peak RSS is a
 * process's): `node dist/tools/bench/decode-memory.js large <dir>` loads a folder of large
 * pictures (written on the first call: 4 interlaced PNGs and 4 progressive JPEGs of 48 megapixels,
 * each one colour, the size of a phone's 8000×6000 photo) and prints the peak RSS; `small <dir>` builds an image cache
 * of a folder of 2,000 28×28 PNGs (the demo's size) and prints the time. docs/datasets.md holds
 * the figures.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImageFolder } from '@trainyard/datasets';
import { LocalObjectStore } from '@trainyard/storage';
import sharp from 'sharp';
import { writeSyntheticImageFolder } from './data-folder';

async function writeLargeFolder(dir: string): Promise<void> {
  for (const [c, format] of (['png', 'jpeg'] as const).entries()) {
    await mkdir(join(dir, format), { recursive: true });
    for (let i = 0; i < 4; i++) {
      const background = { r: 40 * i, g: 100 + c * 50, b: 200 - 30 * i };
      const image = sharp({ create: { width: 8000, height: 6000, channels: 3, background } });
      // Interlaced and progressive: neither can be decoded a strip at a time, so each is held whole.
      const bytes = await (
        format === 'png' ? image.png({ progressive: true, compressionLevel: 1 }) : image.jpeg({ progressive: true })
      ).toBuffer();
      await writeFile(join(dir, format, `${i}.${format === 'png' ? 'png' : 'jpg'}`), bytes);
    }
  }
}

async function exists(dir: string): Promise<boolean> {
  return (await readdir(dir).catch(() => [])).length > 0;
}

async function main(): Promise<void> {
  const [kind, dir] = process.argv.slice(2);
  if ((kind !== 'large' && kind !== 'small') || !dir) throw new Error('usage: decode-memory.js large|small <dir>');
  if (!(await exists(dir))) {
    if (kind === 'large') await writeLargeFolder(dir);
    else await writeSyntheticImageFolder(dir, 2000, 28);
    console.log(`wrote ${dir}; run again to measure (a fresh process)`);
    return;
  }
  const store = new LocalObjectStore(dir);
  const cacheDir = await mkdtemp(join(tmpdir(), 'trainyard-decode-memory-'));
  try {
    const started = performance.now();
    const imageShape: [number, number, number] = kind === 'large' ? [224, 224, 3] : [28, 28, 1];
    const data = await loadImageFolder(store, '', { imageShape, cacheDir, seed: 0 });
    const seconds = (performance.now() - started) / 1000;
    const peakMiB = process.resourceUsage().maxRSS / 1024;
    console.log(
      JSON.stringify({
        kind,
        files: data.stats.files,
        decoded: data.stats.decoded,
        skipped: data.skipped.length,
        seconds: Number(seconds.toFixed(3)),
        imagesPerSecond: Math.round(data.stats.files / seconds),
        peakRssMiB: Math.round(peakMiB),
      }),
    );
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

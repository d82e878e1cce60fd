import { AugmentationSpecSchema } from '@trainyard/datasets';

/**
 * The augmentation both data benchmarks measure (the in-memory one of data.ts and the streamed one
 * of data-stream.ts), so their figures are of the same work: the Keras recipe of the design doc,
 * plus rotation and shifts — a heavy but ordinary setting.
 */
export const BENCH_AUGMENTATION = AugmentationSpecSchema.parse({
  shearRange: 20,
  zoomRange: 0.2,
  horizontalFlip: true,
  rotationRange: 15,
  widthShiftRange: 0.1,
  heightShiftRange: 0.1,
  brightnessRange: [0.8, 1.2],
});

/** `--name N` from the command line, else `fallback`. */
export function numberFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

import { IMAGE_TYPE_NAMES, notAnImage, sniffImageType } from '@trainyard/storage';
import sharp from 'sharp';

export type ImageShape = readonly [height: number, width: number, channels: number];

/**
 * How a picture of another aspect ratio meets the target size: `cover` crops the overflow (centre),
 * `contain` letterboxes with black, `fill` stretches (what Keras's `target_size` does).
 */
export type ResizeFit = 'cover' | 'contain' | 'fill';

/**
 * The most pixels (width × height) a picture may have to be decoded: 50 megapixels, above any
 * camera photo a dataset holds (a 48 MP phone sensor is 8000×6000) and far below the 16383×16383
 * (268 MP) that sharp allows by default. A one-colour WebP that large is 10 KB (a PNG 800 KB), so
 * it passes every size check of an upload, yet took 0.2–1 s of CPU to decode here, for every such
 * file and again whenever it is not cached: past this limit sharp refuses from the header alone,
 * and the file is undecodable (skipped and listed with this reason, as a corrupt one is).
 */
export const MAX_INPUT_PIXELS = 50_000_000;

/**
 * A decode that failed: the bytes are no PNG, JPEG or WebP, or one that does not decode (corrupt,
 * truncated, over MAX_INPUT_PIXELS). Its message is the reason a data report lists, the same for
 * the same bytes on every load and every pack (a packed version hashes it).
 */
export class ImageDecodeError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ImageDecodeError';
  }
}

/**
 * Decodes JPEG/PNG/WebP bytes and resizes them to `[h, w, c]` as row-major uint8 (c = 1: luminance,
 * c = 3: sRGB). Transparency is composited over black so a transparent background reads the same
 * whatever colour the encoder left under it. Runs on libuv's pool, not on the calling JS thread.
 *
 * Only bytes with a PNG, JPEG or WebP signature (sniffImageType, the uploads' rule) reach sharp:
 * it would decode TIFF, GIF or AVIF, and render SVG, named `.png` just as well. A failed decode
 * is reported from what we know of the bytes (`corrupt or truncated JPEG`), never with libvips'
 * error text: that buffer is shared by every decode of the process, so under concurrency one
 * file's failure read as another's (`vipspng: libpng read error` for a truncated JPEG), merged
 * several, or read `Warning treated as error due to failOn setting`.
 */
export async function decodeImage(bytes: Buffer, shape: ImageShape, fit: ResizeFit): Promise<Uint8Array> {
  const [height, width, channels] = shape;
  if (channels !== 1 && channels !== 3) throw new Error(`channels must be 1 or 3, got ${channels}`);
  if (bytes.length === 0) throw new ImageDecodeError('the file is empty (0 bytes)');
  const type = sniffImageType(bytes);
  if (type === null) throw new ImageDecodeError(notAnImage(bytes) ?? 'not a PNG, JPEG or WebP image');
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    let pipeline = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS })
      .rotate() // honour EXIF orientation: phone photos are stored sideways
      .flatten({ background: '#000000' })
      .resize(width, height, { fit, background: '#000000' });
    pipeline = channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
    out = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch {
    throw new ImageDecodeError((await tooManyPixels(bytes)) ?? `corrupt or truncated ${IMAGE_TYPE_NAMES[type]}`);
  }
  const { info, data } = out;
  if (info.width !== width || info.height !== height || info.channels !== channels) {
    throw new ImageDecodeError(
      `decoded to ${info.height}×${info.width}×${info.channels}, expected ${height}×${width}×${channels}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Why a picture is over MAX_INPUT_PIXELS, read from its header alone; null when it is not (or has no header). */
async function tooManyPixels(bytes: Buffer): Promise<string | null> {
  const { width, height } = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => ({ width: undefined, height: undefined }));
  if (width === undefined || height === undefined || width * height <= MAX_INPUT_PIXELS) return null;
  const megapixels = (n: number) => Math.round(n / 1_000_000);
  return `the image is ${width}×${height} (${megapixels(width * height)} megapixels), over the ${megapixels(MAX_INPUT_PIXELS)} megapixel limit (MAX_INPUT_PIXELS)`;
}

/** uint8 pixels → [0, 1] floats, written at `offset` of `out`. */
export function toUnitFloats(pixels: Uint8Array, out: Float32Array, offset: number): void {
  for (let i = 0; i < pixels.length; i++) out[offset + i] = pixels[i] / 255;
}

import { IMAGE_TYPE_NAMES, notAnImage, sniffImageType } from '@trainyard/storage';
import { imageSize } from 'image-size';
import sharp from 'sharp';
import { type DecodePixelBudget, threadDecodeBudget } from './decode-pixel-budget';

// libvips' operation cache keeps what recent pipelines loaded: a progressive JPEG or interlaced
// PNG loaded whole stayed held after its decode, so eight 48-megapixel pictures decoded one after
// the other took 640 MiB of RSS, one alone 220 MiB. Every file here is decoded once (the image
// cache on disk serves the next load), so that cache only ever held memory; off, the pixel
// budget below bounds what decodes hold. sharp's setting is the process's (and the thread's).
sharp.cache(false);

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
 *
 * The header is read first: a picture over MAX_INPUT_PIXELS is refused from it, and a decode
 * starts only once its pixels fit in `budget` (the thread's DecodePixelBudget by default, shared by
 * every load, pack and stream of the thread), so memory in flight is bounded by pixels, not by a
 * count of files whatever their size.
 */
export async function decodeImage(
  bytes: Buffer,
  shape: ImageShape,
  fit: ResizeFit,
  budget: DecodePixelBudget = threadDecodeBudget,
): Promise<Uint8Array> {
  const [height, width, channels] = shape;
  if (channels !== 1 && channels !== 3) throw new Error(`channels must be 1 or 3, got ${channels}`);
  if (bytes.length === 0) throw new ImageDecodeError('the file is empty (0 bytes)');
  const type = sniffImageType(bytes);
  if (type === null) throw new ImageDecodeError(notAnImage(bytes) ?? 'not a PNG, JPEG or WebP image');
  const corrupt = () => new ImageDecodeError(`corrupt or truncated ${IMAGE_TYPE_NAMES[type]}`);
  // The header alone (no pixel decoded) says what the decode will hold: a picture over the limit is
  // refused here, and the others wait for room in the budget of decodes in flight.
  const header = await headerSize(bytes);
  if (!header) throw corrupt();
  const tooMany = tooManyPixels(header.width, header.height);
  if (tooMany) throw new ImageDecodeError(tooMany);
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    out = await budget.run(header.width * header.height, () => {
      let pipeline = sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS })
        .rotate() // honour EXIF orientation: phone photos are stored sideways
        .flatten({ background: '#000000' })
        .resize(width, height, { fit, background: '#000000' });
      pipeline = channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
      return pipeline.raw().toBuffer({ resolveWithObject: true });
    });
  } catch {
    throw corrupt();
  }
  const { info, data } = out;
  if (info.width !== width || info.height !== height || info.channels !== channels) {
    throw new ImageDecodeError(
      `decoded to ${info.height}×${info.width}×${info.channels}, expected ${height}×${width}×${channels}`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * Width and height from the header, without decoding: image-size reads them in this thread (a
 * sharp metadata() call per file, a trip through libuv's pool, cost 28×28 PNGs 10–20% of their
 * decode rate); sharp's header reader, where image-size finds none, has the last word.
 */
async function headerSize(bytes: Buffer): Promise<{ width: number; height: number } | undefined> {
  try {
    const { width, height } = imageSize(bytes);
    if (width !== undefined && height !== undefined) return { width, height };
  } catch {
    // a header image-size does not read (a JPEG variant, a truncated file): ask libvips
  }
  const header = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => undefined);
  return header?.width === undefined || header.height === undefined
    ? undefined
    : { width: header.width, height: header.height };
}

/** Why a picture of `width` × `height` (from its header) is over MAX_INPUT_PIXELS, or null. */
function tooManyPixels(width: number, height: number): string | null {
  if (width * height <= MAX_INPUT_PIXELS) return null;
  const megapixels = (n: number) => Math.round(n / 1_000_000);
  return `the image is ${width}×${height} (${megapixels(width * height)} megapixels), over the ${megapixels(MAX_INPUT_PIXELS)} megapixel limit (MAX_INPUT_PIXELS)`;
}

/** uint8 pixels → [0, 1] floats, written at `offset` of `out`. */
export function toUnitFloats(pixels: Uint8Array, out: Float32Array, offset: number): void {
  for (let i = 0; i < pixels.length; i++) out[offset + i] = pixels[i] / 255;
}

/**
 * Files a folder's load or pack reads (and decodes) at once by default: fetches overlap S3's
 * latency, and sharp decodes on libuv's pool. Each holds at most MAX_IMAGE_FILE_BYTES read; what
 * their decodes hold is bounded by DECODE_PIXEL_BUDGET, below, not by this count.
 */
export const FILES_IN_FLIGHT = 8;

/**
 * Pixels (width × height, as their headers declare them) of the pictures a thread decodes at once.
 * A decode holds far more than its file: a progressive JPEG or an interlaced PNG cannot be read a
 * strip at a time, so libvips holds the whole picture (3–6 bytes per pixel here), and eight
 * 48-megapixel ones loaded at once took the training process to 0.7–1.2 GB of RSS
 * (docs/datasets.md, "Memory of decodes"). 64 megapixels lets one 50-megapixel picture
 * (MAX_INPUT_PIXELS) decode alone, five 12-megapixel phone photos together (more than libuv's
 * four threads run), and any number of small images up to the load's own concurrency.
 */
export const DECODE_PIXEL_BUDGET = 64_000_000;

/**
 * A weighted semaphore over pixels: a decode is admitted while the pixels in flight stay within
 * the budget, first come first served (a large picture waiting is not overtaken by small ones, so
 * it is never starved). One picture larger than the whole budget still decodes, alone. Written
 * here: async-mutex's weighted Semaphore walks every unit of its value on each release (64 million
 * steps per decode at this budget: a 2,000-image folder of 28×28 PNGs took 270 s, not 3).
 */
export class DecodePixelBudget {
  /** Pixels admitted now (a picture over the budget counts as the whole budget). */
  private admitted = 0;
  private readonly waiting: { weight: number; admit: () => void }[] = [];
  /** Pixels being decoded now, and the most there ever were (what a test checks). */
  inFlight = 0;
  peak = 0;
  /** Decodes running now, and the most at once. */
  running = 0;
  peakRunning = 0;

  constructor(readonly pixels: number = DECODE_PIXEL_BUDGET) {
    if (!Number.isSafeInteger(pixels) || pixels < 1)
      throw new Error(`a decode pixel budget must be a positive integer, got ${pixels}`);
  }

  /** Runs `decode` once `pixels` fit in the budget (all of it, for a picture larger than it). */
  async run<T>(pixels: number, decode: () => Promise<T>): Promise<T> {
    const weight = Math.min(Math.max(1, pixels), this.pixels);
    if (this.waiting.length > 0 || this.admitted + weight > this.pixels)
      await new Promise<void>((admit) => this.waiting.push({ weight, admit }));
    else this.admitted += weight;
    this.inFlight += pixels;
    this.running++;
    this.peak = Math.max(this.peak, this.inFlight);
    this.peakRunning = Math.max(this.peakRunning, this.running);
    try {
      return await decode();
    } finally {
      this.inFlight -= pixels;
      this.running--;
      this.admitted -= weight;
      this.admitNext();
    }
  }

  /** Admits the waiting decodes, in order, while the first of them fits. */
  private admitNext(): void {
    while (this.waiting.length > 0 && this.admitted + this.waiting[0].weight <= this.pixels) {
      const next = this.waiting.shift()!;
      this.admitted += next.weight;
      next.admit();
    }
  }
}

/** The budget every decode of this thread shares unless its caller passes one of its own. */
export const threadDecodeBudget = new DecodePixelBudget();

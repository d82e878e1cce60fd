import type { Readable } from 'node:stream';

export interface BodyRateFloorOptions {
  /** The lowest average a body may arrive at; 0: never judged. */
  minBytesPerSecond: number;
  /** The time, waiting for the client, the average is taken over; also the grace period before the first judgement. */
  windowMs: number;
  /**
   * Whether another client wants the place this body holds now: a slow body is cut only then (no
   * one waiting, an honest slow link may take its time). Unset: always judged.
   */
  contended?: () => boolean;
}

/** What a body that was too slow sent over the window it was judged on. */
export interface SlowBody {
  bytesPerSecond: number;
  windowMs: number;
}

export interface BodyRateFloor {
  /** Bytes of the body that arrived (counted by whoever reads it). */
  count(bytes: number): void;
  /** No more judgements: the body has arrived or its reading ended. */
  stop(): void;
}

/** How many samples a window holds: the average slides on by a tenth of it. */
const SAMPLES_PER_WINDOW = 10;

/**
 * Calls `onTooSlow` once when `body` arrives slower than `minBytesPerSecond`, averaged over the
 * last `windowMs` of time the server was waiting for it. STALLED_CLIENT_MS cuts a client that
 * sends nothing; one that sends a byte just before each stall would otherwise hold its place for
 * as long as it likes. Only time the body was flowing counts: while the server's own reader holds
 * it back (a slow store pauses the request, and then the socket), the client cannot send, and is
 * not blamed for it. Nothing is judged before a whole window of waiting: the grace period. The
 * average is kept all along but judged only while `contended()` says another client wants the
 * place: a trickle that holds a place someone waits for is cut within a tenth of a window.
 */
export function watchBodyRate(
  body: Readable,
  { minBytesPerSecond, windowMs, contended = () => true }: BodyRateFloorOptions,
  onTooSlow: (slow: SlowBody) => void,
): BodyRateFloor {
  if (minBytesPerSecond <= 0) return { count: () => undefined, stop: () => undefined };
  const samples: { activeMs: number; bytes: number }[] = [];
  let bytes = 0;
  let activeMs = 0;
  let since = Date.now();
  let flowing = body.readableFlowing === true;
  // Pause and resume are caught as they happen (pipe's backpressure emits them), and at every tick.
  const update = () => {
    const now = Date.now();
    if (flowing) activeMs += now - since;
    since = now;
    flowing = body.readableFlowing === true && !body.readableEnded;
  };
  const tick = () => {
    update();
    samples.push({ activeMs, bytes });
    activeMs = 0;
    bytes = 0;
    let waited = samples.reduce((sum, s) => sum + s.activeMs, 0);
    // The oldest samples go while the rest still cover a whole window.
    while (samples.length > 1 && waited - samples[0]!.activeMs >= windowMs) waited -= samples.shift()!.activeMs;
    if (waited < windowMs) return;
    const bytesPerSecond = Math.floor((samples.reduce((sum, s) => sum + s.bytes, 0) * 1000) / waited);
    if (bytesPerSecond >= minBytesPerSecond || !contended()) return;
    stop();
    onTooSlow({ bytesPerSecond, windowMs: waited });
  };
  const timer = setInterval(tick, Math.max(1, Math.floor(windowMs / SAMPLES_PER_WINDOW)));
  timer.unref();
  body.on('pause', update);
  body.on('resume', update);
  const stop = () => {
    clearInterval(timer);
    body.off('pause', update);
    body.off('resume', update);
  };
  body.once('end', stop);
  body.once('close', stop);
  return {
    count: (n) => {
      bytes += n;
    },
    stop,
  };
}

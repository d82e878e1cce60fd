import { escapeControlCharacters, redact } from '@trainyard/config';
import {
  clipText,
  RUN_LOG_MAX_LINE_LENGTH,
  type RunLogLevel,
  type RunLogLine,
  type RunLogSource,
} from '@trainyard/contracts';
import { parseRunLogChunkKey, runLogChunkKey, runLogPrefix, type ObjectStore } from '@trainyard/storage';
import { waitAtMost } from '../wait-at-most';

export interface RunLogWriterOptions {
  store: ObjectStore;
  runId: string;
  attempt: number;
  jobId: string;
  /** A chunk is closed once the next line would take it past this many bytes (RUN_LOG_CHUNK_BYTES). */
  chunkBytes: number;
  /** New lines are written this often (RUN_LOG_FLUSH_MS), and whenever a chunk's worth is waiting. */
  flushMs: number;
  /** Bytes of lines the store has not taken yet that are kept; past it the oldest go (default 4 chunks). */
  maxPendingBytes?: number;
  /** How long `close` waits for the store before giving up on the tail (default 10 s). */
  closeTimeoutMs?: number;
  /**
   * How long a closed log whose tail the store did not take keeps retrying it, every flushMs
   * (default 30 minutes, WORKER_STORE_OUTAGE_PATIENCE_MS's default: an attempt that ended waiting
   * for the store has its last lines, why it ended included, written once the store is back).
   */
  lingerMs?: number;
  /** The store refused a write (once per run of failures): for the process log, never this one. */
  onStoreError?: (error: Error) => void;
  /** A closed log's tail was still not taken when `lingerMs` ran out: `lines` are lost. */
  onGiveUp?: (lines: number) => void;
  /** The writer will write nothing more: closed with every line stored, given up, or abandoned. Called once. */
  onFinished?: () => void;
}

/** lingerMs unset. */
export const RUN_LOG_LINGER_MS = 30 * 60_000;

interface Encoded {
  text: string;
  bytes: number;
  /** A line saying this many lines were dropped: dropped in turn, it hands the count on. */
  dropped?: number;
}

interface Chunk {
  sequence: number;
  lines: Encoded[];
  bytes: number;
  /** Holds lines the store does not have yet. */
  dirty: boolean;
}

/**
 * One attempt's log, written to the object store as NDJSON chunks
 * (`runs/<runId>/logs/<attempt>-<sequence>.ndjson`, see run-artifact-keys.ts). The open chunk is
 * written again, whole, at each flush until it is full; then the next one is begun, so a chunk
 * only ever grows and a reader's line offset into it stays valid. The store's trouble never
 * reaches the training: writes are retried at the next flush, lines waiting are bounded, and
 * the oldest are dropped first, with a line saying how many.
 */
export class RunLogWriter {
  private chunk: Chunk = { sequence: 1, lines: [], bytes: 0, dirty: false };
  /**
   * Whether the first chunk's sequence is past every chunk the store already holds of this attempt
   * (see placeFirstChunk). A first attempt starts placed: see there.
   */
  private placed: boolean;
  private pending: Encoded[] = [];
  private pendingBytes = 0;
  private dropped = 0;
  private failing = false;
  private closed = false;
  private finished = false;
  /** Retries a closed log's tail (linger); cleared by `abandon`. */
  private lingering?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  /** A write is queued that has not begun: lines appended meanwhile go with it. */
  private queued = false;
  private readonly timer: NodeJS.Timeout;
  private readonly maxPendingBytes: number;

  constructor(private readonly options: RunLogWriterOptions) {
    this.maxPendingBytes = options.maxPendingBytes ?? 4 * options.chunkBytes;
    this.placed = options.attempt <= 1;
    this.timer = setInterval(() => void this.flush(), options.flushMs);
    this.timer.unref();
  }

  /** Adds a line (redacted, control characters escaped, cut to RUN_LOG_MAX_LINE_LENGTH); never throws. */
  append(level: RunLogLevel, source: RunLogSource, msg: string): void {
    if (this.closed) return;
    this.pending.push(this.encode(level, source, msg));
    this.pendingBytes += this.pending[this.pending.length - 1]!.bytes;
    while (this.pendingBytes > this.maxPendingBytes && this.pending.length > 1) {
      const gone = this.pending.shift()!;
      this.pendingBytes -= gone.bytes;
      this.dropped += gone.dropped ?? 1;
    }
    if (this.pendingBytes >= this.options.chunkBytes) void this.flush();
  }

  /**
   * Writes what is waiting; resolves once the store took it or refused it, or after `timeoutMs`
   * (the write goes on), never rejects.
   */
  flush(timeoutMs?: number): Promise<void> {
    if (!this.queued) {
      this.queued = true;
      this.writing = this.writing.then(() => {
        this.queued = false;
        return this.write();
      });
    }
    return timeoutMs === undefined ? this.writing : waitAtMost(this.writing, timeoutMs).then(() => undefined);
  }

  /**
   * The last flush (the attempt ended, however it ended): waits for the store up to
   * closeTimeoutMs. What the store has not taken by then is retried in the background, every
   * flushMs for up to lingerMs (the writer takes no more lines), and lands in this attempt's
   * chunks, where a reader looks for it.
   */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    clearInterval(this.timer);
    const last = this.flush(this.options.closeTimeoutMs ?? 10_000);
    this.closed = true;
    await last;
    if (this.finished) return;
    if (this.allWritten()) this.finish();
    else this.linger();
  }

  /**
   * The process stops: one last write of what the store lacks, up to `timeoutMs`, then nothing
   * more (no flush, no linger, no line taken). Returns how many lines the store still lacks: they
   * are lost with the process, and only its caller can say so.
   */
  async abandon(timeoutMs: number): Promise<number> {
    if (this.finished) return 0;
    clearInterval(this.timer);
    this.closed = true;
    if (!this.allWritten()) await this.flush(timeoutMs);
    this.finish();
    return this.unwritten();
  }

  /** Every line appended is in the store (none waiting, none dropped unsaid). */
  allWritten(): boolean {
    return this.pending.length === 0 && !this.chunk.dirty && this.dropped === 0;
  }

  /**
   * Lines appended that the store lacks: waiting, dropped (and the line saying so), and those of
   * the open chunk when its last write failed: up to that many, since the chunk is written whole.
   */
  unwritten(): number {
    const count = (lines: Encoded[]) => lines.reduce((n, line) => n + 1 + (line.dropped ?? 0), 0);
    return count(this.pending) + (this.chunk.dirty ? count(this.chunk.lines) : 0) + this.dropped;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.lingering);
    this.options.onFinished?.();
  }

  private linger(): void {
    const until = Date.now() + (this.options.lingerMs ?? RUN_LOG_LINGER_MS);
    this.lingering = setInterval(() => {
      void this.flush().then(() => {
        if (this.finished) return;
        if (this.allWritten()) return this.finish();
        if (Date.now() < until) return;
        const lost = this.unwritten();
        this.finish();
        this.options.onGiveUp?.(lost);
      });
    }, this.options.flushMs);
    this.lingering.unref();
  }

  private async write(): Promise<void> {
    if (this.dropped > 0) {
      const marker = {
        ...this.encode('warn', 'worker', `${this.dropped} lines dropped: the object store did not take them in time`),
        dropped: this.dropped,
      };
      this.pending.unshift(marker);
      this.pendingBytes += marker.bytes;
      this.dropped = 0;
    }
    // Only the lines waiting now. Those appended while a chunk is being stored wait for the next
    // flush: taken here, they would begin a new chunk although the open one still has room.
    let waiting = this.pending.length;
    for (;;) {
      while (
        waiting > 0 &&
        this.pending.length &&
        (this.chunk.lines.length === 0 || this.chunk.bytes + this.pending[0]!.bytes <= this.options.chunkBytes)
      ) {
        const line = this.pending.shift()!;
        waiting--;
        this.pendingBytes -= line.bytes;
        this.chunk.lines.push(line);
        this.chunk.bytes += line.bytes;
        this.chunk.dirty = true;
      }
      if (this.chunk.dirty && !(await this.put(this.chunk))) return;
      if (waiting <= 0 || !this.pending.length) return;
      this.chunk = { sequence: this.chunk.sequence + 1, lines: [], bytes: 0, dirty: false };
    }
  }

  /**
   * An attempt's number is PostgreSQL's: restored from an older backup, it numbers again attempts
   * whose logs the store still holds. This one's chunks go after theirs rather than over the first
   * of them, so neither reads as the other's. Listed once, before the first write that succeeds;
   * not for a first attempt, nearly every one, which would pay a listing for the rare run that
   * trained after the dump it was restored from never attempted (its first chunk is then written
   * over the lost attempt's first: docs/operations.md, restoring from backups).
   */
  private async placeFirstChunk(): Promise<void> {
    const { store, runId, attempt } = this.options;
    let last = 0;
    for (const { key } of await store.list(runLogPrefix(runId))) {
      const chunk = parseRunLogChunkKey(runId, key);
      if (chunk?.attempt === attempt) last = Math.max(last, chunk.sequence);
    }
    this.chunk.sequence = last + 1;
    this.placed = true;
  }

  private async put(chunk: Chunk): Promise<boolean> {
    const { store, runId, attempt } = this.options;
    try {
      if (!this.placed) await this.placeFirstChunk();
      await store.put(
        runLogChunkKey(runId, { attempt, sequence: chunk.sequence }),
        Buffer.from(chunk.lines.map((l) => l.text).join('')),
      );
      chunk.dirty = false;
      this.failing = false;
      return true;
    } catch (error) {
      if (!this.failing) this.options.onStoreError?.(error as Error);
      this.failing = true;
      return false;
    }
  }

  private encode(level: RunLogLevel, source: RunLogSource, msg: string): Encoded {
    const safe = escapeControlCharacters(redact(msg));
    const cut =
      safe.length > RUN_LOG_MAX_LINE_LENGTH
        ? `${clipText(safe, RUN_LOG_MAX_LINE_LENGTH)} … [${safe.length - RUN_LOG_MAX_LINE_LENGTH} more characters cut]`
        : safe;
    const line: RunLogLine = {
      t: new Date().toISOString(),
      level,
      source,
      attempt: this.options.attempt,
      jobId: this.options.jobId,
      msg: cut,
    };
    const text = `${JSON.stringify(line)}\n`;
    return { text, bytes: Buffer.byteLength(text) };
  }
}

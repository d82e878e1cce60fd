import { Inject, Injectable } from '@nestjs/common';
import { isTerminal, RunLogLineSchema, type RunLogLine, type RunStatus } from '@trainyard/contracts';
import { RunsRepository } from '@trainyard/db';
import {
  ObjectNotFoundError,
  parseRunLogChunkKey,
  runLogChunkKey,
  runLogPrefix,
  type ObjectStore,
  type RunLogChunkId,
} from '@trainyard/storage';
import { formatRunLogCursor, type RunLogCursor } from './run-log-query';
import { notFound } from '../http/problems';
import { OBJECT_STORE } from '@trainyard/infrastructure';

/** A line with the cursor just past it (an SSE event's id: a reconnect resumes after it). */
export interface RunLogEntry {
  line: RunLogLine;
  after: string;
}

export interface RunLogRead {
  entries: RunLogEntry[];
  /** Where the next read starts: after the last line read, or where this one started if none. */
  next: RunLogCursor;
  /** The run has ended and every line of its log was read. */
  complete: boolean;
}

const START: RunLogCursor = { attempt: 0, sequence: 0, offset: 0 };
const NEWLINE = 0x0a;

/**
 * Reads a run's log from its chunks in the object store (written by the worker's RunLogWriter),
 * from a cursor on. The run's status is read before the chunks are listed: the worker writes
 * every chunk before it records the run as ended, so a run seen ended means the listing holds
 * its whole log.
 */
@Injectable()
export class RunLogsService {
  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly runs: RunsRepository,
  ) {}

  /** 404 for a run that does not exist (before a stream writes its first byte). */
  async assertRun(runId: string): Promise<void> {
    await this.status(runId);
  }

  async read(runId: string, options: { after?: RunLogCursor; limit: number; attempt?: number }): Promise<RunLogRead> {
    const ended = isTerminal(await this.status(runId));
    let cursor = options.after ?? START;
    const entries: RunLogEntry[] = [];
    let limited = false;
    for (const chunk of await this.chunks(runId, options.attempt)) {
      if (compare(chunk.id, cursor) < 0) continue;
      const from = compare(chunk.id, cursor) === 0 ? cursor.offset : 0;
      if (from >= chunk.size) {
        // Nothing new in this one (a follower's usual case): not even read.
        cursor = { ...chunk.id, offset: from };
        continue;
      }
      const body = await this.get(runLogChunkKey(runId, chunk.id));
      if (!body) continue;
      let offset = lineStart(body, from);
      while (offset < body.length && entries.length < options.limit) {
        const end = body.indexOf(NEWLINE, offset);
        // A chunk is written whole, so it ends in a newline; anything after the last one is not ours.
        if (end === -1) break;
        const line = parseLine(body.subarray(offset, end));
        offset = end + 1;
        if (line) entries.push({ line, after: formatRunLogCursor({ ...chunk.id, offset }) });
      }
      cursor = { ...chunk.id, offset };
      if (entries.length >= options.limit) {
        // There may be more; the next read says (with no lines, complete) if there is not.
        limited = true;
        break;
      }
    }
    return { entries, next: cursor, complete: ended && !limited };
  }

  /** Null for a chunk listed a moment ago and gone now (nothing deletes logs today; a future retention might). */
  private async get(key: string): Promise<Buffer | null> {
    try {
      return await this.store.get(key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return null;
      throw error;
    }
  }

  private async status(runId: string): Promise<RunStatus> {
    const run = await this.runs.get(runId);
    if (!run) throw notFound('run', runId);
    return run.status as RunStatus;
  }

  /** The run's chunks in log order (attempt, then sequence); keys that are not chunks are skipped. */
  private async chunks(runId: string, attempt?: number): Promise<{ id: RunLogChunkId; size: number }[]> {
    const listed = await this.store.list(runLogPrefix(runId));
    return listed
      .flatMap(({ key, size }) => {
        const id = parseRunLogChunkKey(runId, key);
        return id && (attempt === undefined || id.attempt === attempt) ? [{ id, size }] : [];
      })
      .sort((a, b) => compare(a.id, b.id));
  }
}

function compare(a: RunLogChunkId, b: RunLogChunkId): number {
  return a.attempt - b.attempt || a.sequence - b.sequence;
}

/** `from` if a line starts there, else the start of the next line: a forged offset cannot split one. */
function lineStart(body: Buffer, from: number): number {
  if (from <= 0) return 0;
  if (from >= body.length) return body.length;
  if (body[from - 1] === NEWLINE) return from;
  const next = body.indexOf(NEWLINE, from);
  return next === -1 ? body.length : next + 1;
}

function parseLine(bytes: Buffer): RunLogLine | null {
  try {
    const parsed = RunLogLineSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

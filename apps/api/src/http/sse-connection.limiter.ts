import type { ServerResponse } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';
import { HolderPlaces, type PlaceBounds, type PlaceHolder } from './holder-places';

/** Who holds a stream: its key, and the project the key is confined to (null: an operator's key). */
export type StreamHolder = PlaceHolder;

/**
 * Live event streams hold a socket and a subscription each for as long as the client likes
 * (followed logs and checkpoint downloads a socket and a store stream): a
 * key may keep SSE_MAX_PER_KEY open at once in this process, the keys of one project together
 * SSE_MAX_PER_PROJECT (below SSE_MAX_PER_PROCESS: a project minting keys multiplies its per-key
 * places, and without this one project could take every place of the process and lock the
 * others, operators included, out of their runs' streams), and the process SSE_MAX_PER_PROCESS.
 * An operator's key (no project) is held to its own per-key places only, within the process's.
 * At shutdown every open stream is ended first: the HTTP server's close waits for its connections,
 * and a stream (a dashboard left on a run's page) would hold it until the process is killed.
 */
@Injectable()
export class SseConnectionLimiter implements BeforeApplicationShutdown {
  private readonly places = new HolderPlaces();
  private readonly open = new Set<ServerResponse>();
  private readonly bounds: PlaceBounds;

  /** Ends every open stream (clients reconnect, to another replica or once this one is back). */
  beforeApplicationShutdown(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }

  constructor(@Inject(CONFIG) config: TrainyardConfig) {
    const { sseConnectionsPerKey, sseConnectionsPerProject, sseConnectionsPerProcess } = config.limits;
    this.bounds = {
      perKey: { max: sseConnectionsPerKey, setting: 'SSE_MAX_PER_KEY' },
      perProject: { max: sseConnectionsPerProject, setting: 'SSE_MAX_PER_PROJECT' },
      perProcess: { max: sseConnectionsPerProcess, setting: 'SSE_MAX_PER_PROCESS' },
      projectHolds: (project, open) => `the keys of project ${project} have ${open} open on this server`,
    };
  }

  /** Streams open in this process now. */
  get openStreams(): number {
    return this.places.held;
  }

  /** Takes a place for `holder`, for the stream `res`, or throws 429; the returned function gives it back (once). */
  acquire(holder: StreamHolder, res: ServerResponse): () => void {
    const release = this.takePlace(holder);
    this.open.add(res);
    return () => {
      this.open.delete(res);
      release();
    };
  }

  /**
   * Runs `answer` holding a place for a long answer that is not an event stream (a checkpoint
   * download or archive, streamed metric points): counted with the streams, since it holds a
   * socket, a store stream or a page and their buffers for as long as its client reads, but not
   * ended at shutdown (a body ended early could look complete). 429 before `answer` runs.
   */
  async whileHolding<T>(holder: StreamHolder, answer: () => Promise<T>): Promise<T> {
    const release = this.takePlace(holder);
    try {
      return await answer();
    } finally {
      release();
    }
  }

  private takePlace(holder: StreamHolder): () => void {
    const full = this.places.whyFull(holder, this.bounds);
    if (full !== null)
      throw new HttpException(
        {
          message: `Too many open streams (live events, followed logs, checkpoint downloads): ${full}; close one first`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    return this.places.take(holder);
  }
}

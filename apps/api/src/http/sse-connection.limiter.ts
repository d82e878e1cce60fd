import type { ServerResponse } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Live event streams hold a socket and a subscription each for as long as the client likes: a
 * key may keep SSE_MAX_PER_KEY open at once in this process, and the process SSE_MAX_PER_PROCESS.
 * At shutdown every open stream is ended first: the HTTP server's close waits for its connections,
 * and a stream (a dashboard left on a run's page) would hold it until the process is killed.
 */
@Injectable()
export class SseConnectionLimiter implements BeforeApplicationShutdown {
  private total = 0;
  private readonly perKey = new Map<string, number>();
  private readonly open = new Set<ServerResponse>();

  /** Ends every open stream (clients reconnect, to another replica or once this one is back). */
  beforeApplicationShutdown(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }

  constructor(@Inject(CONFIG) private readonly config: TrainyardConfig) {}

  /** Streams open in this process now. */
  get openStreams(): number {
    return this.total;
  }

  /** Takes a slot for `keyId`, for the stream `res`, or throws 429; the returned function gives it back (once). */
  acquire(keyId: string, res: ServerResponse): () => void {
    const { sseConnectionsPerKey, sseConnectionsPerProcess } = this.config.limits;
    const mine = this.perKey.get(keyId) ?? 0;
    if (mine >= sseConnectionsPerKey || this.total >= sseConnectionsPerProcess) {
      const which =
        mine >= sseConnectionsPerKey
          ? `this key has ${mine} open (SSE_MAX_PER_KEY=${sseConnectionsPerKey})`
          : `this server has ${this.total} open (SSE_MAX_PER_PROCESS=${sseConnectionsPerProcess})`;
      throw new HttpException(
        {
          message: `Too many live event streams: ${which}; close one first`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.perKey.set(keyId, mine + 1);
    this.total++;
    this.open.add(res);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.delete(res);
      this.total--;
      const left = (this.perKey.get(keyId) ?? 1) - 1;
      if (left <= 0) this.perKey.delete(keyId);
      else this.perKey.set(keyId, left);
    };
  }
}

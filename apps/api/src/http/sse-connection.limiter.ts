import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Live event streams hold a socket and a subscription each for as long as the client likes: a
 * key may keep SSE_MAX_PER_KEY open at once in this process, and the process SSE_MAX_PER_PROCESS.
 */
@Injectable()
export class SseConnectionLimiter {
  private total = 0;
  private readonly perKey = new Map<string, number>();

  constructor(@Inject(CONFIG) private readonly config: TrainyardConfig) {}

  /** Takes a slot for `keyId` or throws 429; the returned function gives it back (once). */
  acquire(keyId: string): () => void {
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
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perKey.get(keyId) ?? 1) - 1;
      if (left <= 0) this.perKey.delete(keyId);
      else this.perKey.set(keyId, left);
    };
  }
}

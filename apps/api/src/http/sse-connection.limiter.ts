import type { ServerResponse } from 'node:http';
import { HttpException, HttpStatus, Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG } from '@trainyard/infrastructure';
import type { Principal } from '../auth/principal';

/** Who holds a stream: its key, and the project the key is confined to (null: an operator's key). */
export type StreamHolder = Pick<Principal, 'keyId' | 'project'>;

/**
 * Live event streams hold a socket and a subscription each for as long as the client likes: a
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
  private total = 0;
  private readonly perKey = new Map<string, number>();
  private readonly perProject = new Map<string, number>();
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

  /** Takes a place for `holder`, for the stream `res`, or throws 429; the returned function gives it back (once). */
  acquire(holder: StreamHolder, res: ServerResponse): () => void {
    const full = this.whyFull(holder);
    if (full !== null)
      throw new HttpException(
        { message: `Too many live event streams: ${full}; close one first` },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    const { keyId, project } = holder;
    increment(this.perKey, keyId);
    if (project !== null) increment(this.perProject, project);
    this.total++;
    this.open.add(res);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.delete(res);
      this.total--;
      decrement(this.perKey, keyId);
      if (project !== null) decrement(this.perProject, project);
    };
  }

  /** Which limit a new stream of `holder` would pass, in words; null when it has a place. */
  private whyFull({ keyId, project }: StreamHolder): string | null {
    const { sseConnectionsPerKey, sseConnectionsPerProject, sseConnectionsPerProcess } = this.config.limits;
    const mine = this.perKey.get(keyId) ?? 0;
    if (mine >= sseConnectionsPerKey) return `this key has ${mine} open (SSE_MAX_PER_KEY=${sseConnectionsPerKey})`;
    const ours = project === null ? 0 : (this.perProject.get(project) ?? 0);
    if (ours >= sseConnectionsPerProject)
      return `the keys of project ${project} have ${ours} open on this server (SSE_MAX_PER_PROJECT=${sseConnectionsPerProject})`;
    if (this.total >= sseConnectionsPerProcess)
      return `this server has ${this.total} open (SSE_MAX_PER_PROCESS=${sseConnectionsPerProcess})`;
    return null;
  }
}

function increment(counts: Map<string, number>, name: string): void {
  counts.set(name, (counts.get(name) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, name: string): void {
  const left = (counts.get(name) ?? 1) - 1;
  if (left <= 0) counts.delete(name);
  else counts.set(name, left);
}

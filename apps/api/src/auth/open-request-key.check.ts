import type { ServerResponse } from 'node:http';
import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ApiKeyAuthenticator, KEY_CACHE_TTL_MS, type Credential } from './api-key.authenticator';
import type { Principal } from './principal';

/** What a stream ended for its revoked key says last, where its format has room for it (an SSE comment). */
export const REVOKED_KEY_FAREWELL =
  ': the API key of this stream was revoked or is no longer valid; the stream ends here\n\n';

interface OpenRequest {
  credential: Credential;
  keyId: string;
  since: number;
}

/**
 * A key is checked when a request arrives, so a revoked key is refused from then on; but an answer
 * that stays open (a run's events, a followed log, a long download or upload) would go on serving
 * it for as long as it lasts, up to a week of training. Every request a key proved is held here
 * until it ends, and every KEY_CACHE_TTL_MS (the schedule on which a replica learns of a
 * revocation made on another) the keys of the long ones are asked of the database again: those of
 * a key revoked or no longer valid are ended. The replica that revokes ends its key's at once.
 *
 * Long means that its answer has begun (a stream) or that it has been open for KEY_CACHE_TTL_MS
 * (an upload): a plain request the key proved a moment ago, the revoking one included, finishes.
 */
@Injectable()
export class OpenRequestKeyCheck implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(OpenRequestKeyCheck.name);
  private readonly open = new Map<ServerResponse, OpenRequest>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly authenticator: ApiKeyAuthenticator) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.recheck(), KEY_CACHE_TTL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    this.open.clear();
  }

  /** Requests held now (streams and requests still being answered). */
  get openRequests(): number {
    return this.open.size;
  }

  /** Holds `response` (proved by `credential`: a key, or a session of one) until it ends. */
  watch(response: ServerResponse, credential: Credential, principal: Principal): void {
    if (response.destroyed) return;
    this.open.set(response, { credential, keyId: principal.keyId, since: Date.now() });
    response.once('close', () => this.open.delete(response));
  }

  /** Ends at once the long open requests of `keyId`, revoked through this process. */
  endRequestsOf(keyId: string): void {
    const now = Date.now();
    const ended = [...this.open].filter(([response, held]) => held.keyId === keyId && isLong(response, held, now));
    this.endAll(
      keyId,
      ended.map(([response]) => response),
    );
  }

  /**
   * Asks the database about the key of every long open request and ends those of keys it no longer
   * knows as valid. A check still running (a slow database) is not doubled: it is the check.
   */
  recheck(): Promise<void> {
    return (this.inFlight ??= this.check().finally(() => (this.inFlight = undefined)));
  }

  private async check(): Promise<void> {
    const now = Date.now();
    const byCredential = new Map<string, { credential: Credential; keyId: string; responses: ServerResponse[] }>();
    for (const [response, held] of this.open) {
      if (!isLong(response, held, now)) continue;
      const name = `${held.credential.kind}:${held.credential.token}`;
      const same = byCredential.get(name) ?? { credential: held.credential, keyId: held.keyId, responses: [] };
      same.responses.push(response);
      byCredential.set(name, same);
    }
    for (const { credential, keyId, responses } of byCredential.values()) {
      let principal: Principal | null;
      try {
        principal = await this.authenticator.verifyNow(credential);
      } catch (error) {
        // The database is away: new requests fail too, and a valid key's streams are not cut for
        // it; the next check asks again.
        if (!this.failing) this.logger.warn(`could not re-check the keys of open streams: ${(error as Error).message}`);
        this.failing = true;
        return;
      }
      this.failing = false;
      if (principal?.keyId !== keyId) this.endAll(keyId, responses);
    }
  }

  private endAll(keyId: string, responses: ServerResponse[]): void {
    const ended = responses.filter((response) => !response.writableEnded && !response.destroyed);
    if (ended.length === 0) return;
    for (const response of ended) end(response);
    this.logger.log(`ended ${ended.length} open request(s) of API key ${keyId}: it was revoked or is no longer valid`);
  }
}

/** A stream (its answer begun and not ended), or a request open for KEY_CACHE_TTL_MS (an upload). */
function isLong(response: ServerResponse, held: OpenRequest, now: number): boolean {
  if (response.writableEnded) return false;
  return response.headersSent || now - held.since >= KEY_CACHE_TTL_MS;
}

/**
 * An event stream gets a last comment saying why, then a clean end (its client reconnects and is
 * refused); anything else (a download, an upload) is cut short, so its body never looks complete.
 * Writers of the stream may still write before its 'close' comes: after an end that is an 'error'
 * event, which would be uncaught without a listener, and is of no interest now.
 */
function end(response: ServerResponse): void {
  response.on('error', () => undefined);
  const type = response.headersSent ? String(response.getHeader('content-type') ?? '') : '';
  if (/^text\/event-stream\b/i.test(type)) response.end(REVOKED_KEY_FAREWELL);
  else response.destroy();
}

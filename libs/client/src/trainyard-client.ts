import { TrainyardClientCore, type TrainyardClientCoreOptions } from './trainyard-client-core';
import { zodResponseValidator } from './response-schemas';

export interface TrainyardClientOptions extends Omit<TrainyardClientCoreOptions, 'validate'> {
  /**
   * Parse every JSON answer with its contract's zod schema and throw on a mismatch. Off by
   * default: the contracts are strict objects, and a client should keep working against a newer
   * API that added a field; tests turn it on to catch drift.
   */
  validateResponses?: boolean;
}

/**
 * The client the CLI, the demo and the experiment scripts use: TrainyardClientCore (every route,
 * retries, AbortSignal, paging and event iterators) with the zod layer that checks answers
 * against their contracts when `validateResponses` is on. This module loads zod and every
 * schema; a browser page uses the core alone (`@trainyard/client/browser`).
 */
export class TrainyardClient extends TrainyardClientCore {
  /** `apiKey` is sent as `Authorization: Bearer <key>` on every call. */
  constructor(baseUrl: string, apiKey?: string, options: TrainyardClientOptions = {}) {
    const { validateResponses, ...core } = options;
    super(baseUrl, apiKey, { ...core, ...(validateResponses ? { validate: zodResponseValidator } : {}) });
  }
}

import type { LoggerService, LogLevel } from '@nestjs/common';
import type { Database } from '@trainyard/db';

/** What callers of createApiApp may change besides the environment's config. */
export interface ApiOptions {
  /** BullMQ queue name (default config.queue.name); tests give each suite its own so parallel runs never share jobs. */
  queueName?: string;
  /** A logger, a list of levels for the default one, or false for silence (tests). */
  logger?: LoggerService | LogLevel[] | false;
  /** Register SIGTERM/SIGINT handlers that close the app (default true); tests close it themselves. */
  shutdownHooks?: boolean;
  /**
   * An already open database to use instead of opening one from config.database; the app then
   * leaves closing it to the caller. The embedded PGlite allows one opener per process.
   */
  database?: Database;
  /** Serve Swagger UI at /docs and the document at /docs-json (default true). */
  openApi?: boolean;
}

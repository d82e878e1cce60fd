import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@nestjs/common';
import { endIfStalled } from './stalled-client';

/**
 * Sends `body` to the client once the answer's headers are out (a checkpoint's files, all of a
 * run's points). pipeline reads on only as the client takes what was sent, and on a client that
 * goes or a source that fails destroys both sides: the source stops, and the client's body ends
 * cut short (the socket destroyed, not ended), never a complete-looking answer. A client that
 * takes nothing for STALLED_CLIENT_MS is let go. Nothing is thrown: nothing can be reported over
 * HTTP any more, and Nest would try to; `what` names the answer in the log instead.
 */
export async function streamToClient(
  body: Readable,
  res: ServerResponse,
  { what, stalledMs, logger }: { what: string; stalledMs: number; logger: Logger },
): Promise<void> {
  endIfStalled(res, stalledMs, () =>
    logger.warn(`${what}: the client took nothing for ${stalledMs} ms (STALLED_CLIENT_MS); let go`),
  );
  try {
    await pipeline(body, res);
  } catch (error) {
    const reason = (error as Error).message;
    if (res.writableFinished) return;
    if ((error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE')
      logger.debug(`${what} closed by the client: ${reason}`);
    else logger.warn(`${what} cut short: ${reason}`);
  }
}

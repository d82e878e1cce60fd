import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdOf } from '../logging/request-id';
import { problem, sendProblem } from './problem-details.filter';

/**
 * The one route that takes a body other than JSON, and the one body that may take as long as it
 * keeps arriving (its stalls are cut by STALLED_CLIENT_MS): a tar posted to the upload route
 * itself. `application/x-tar` is no type an HTML form can send, so a page on another site still
 * cannot post it (CSRF stays closed). Anything else at that path (a JSON body the body parser
 * would read before any key is checked, a longer path) has the deadline.
 */
export const isDatasetUpload = (req: IncomingMessage): boolean =>
  req.method === 'POST' &&
  /^\/v1\/datasets\/uploads(?:\?|$)/.test(req.url ?? '') &&
  /^application\/x-tar\s*(?:;|$)/i.test(req.headers['content-type'] ?? '');

/** How long a connection whose answer went out before its body had arrived is kept, for the answer to reach its client. */
export const EARLY_ANSWER_LINGER_MS = 1_000;

/**
 * Node's server.requestTimeout (5 minutes for the whole request, body included) would cut a
 * dataset upload of a few GiB on an ordinary link with a 408, so it is off (createApiApp); this
 * keeps it for every other route: a body not fully arrived within `ms` (API_REQUEST_BODY_TIMEOUT_MS)
 * is answered 408 and its connection closed, so a client dribbling a JSON body holds no socket for
 * long. A request without a body, or whose body has arrived, is not timed.
 */
export function requestBodyDeadline(ms: number) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (req.complete) return next();
    // Answered before its body arrived (a 401, a 429, a 413): the rest is not read, and a client
    // still sending (an upload the API refused) would otherwise hold the socket for as long as it
    // sends. The connection goes once the answer has had a moment to reach it, if the body has
    // still not all arrived then: Node reads what is left of a body answered early and keeps the
    // connection, and a client that sent it whole reuses it for its next request, which a socket
    // destroyed regardless would cut ("other side closed").
    res.once('finish', () => {
      if (!req.complete)
        setTimeout(() => {
          if (!req.complete) req.socket.destroy();
        }, EARLY_ANSWER_LINGER_MS).unref();
    });
    if (isDatasetUpload(req)) return next();
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) {
        const message = `The request's body did not arrive within ${ms} ms (API_REQUEST_BODY_TIMEOUT_MS)`;
        res.setHeader('connection', 'close');
        sendProblem(res, problem(408, { message }, requestIdOf(req)));
      }
      // What is still arriving is not read: the connection goes.
      res.once('finish', () => req.socket.destroy());
      if (res.writableFinished) req.socket.destroy();
    }, ms);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    res.once('close', clear);
    next();
  };
}

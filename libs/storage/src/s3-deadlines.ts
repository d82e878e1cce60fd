import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';

export interface S3Deadlines {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/**
 * Bytes read, and what libuv still has to write: Node's socket timeout watches the same queue
 * (net.Socket#_onTimeout) so that a large write still draining does not count as idle.
 */
function progressOf(socket: Socket): string {
  const handle = (socket as unknown as { _handle?: { writeQueueSize?: number } })._handle;
  return `${socket.bytesRead}/${handle?.writeQueueSize}`;
}

/**
 * Bounds one request: its connection must open within the connect deadline, then bytes must keep
 * moving, either way, at least once per request deadline until the response has been read. minio
 * sets no deadline, so a server that accepts the connection and never answers (or stalls
 * mid-body) would hold its caller, and any lock the caller holds, forever. Past a deadline the
 * socket is destroyed and the request, or the response's reader, fails with an ETIMEDOUT error
 * that says which deadline: transient (isTransientStorageError), so withStorageRetry tries again.
 */
function enforceDeadlines(req: http.ClientRequest, { connectTimeoutMs, requestTimeoutMs }: S3Deadlines): void {
  req.once('socket', (socket: Socket) => {
    let response: http.IncomingMessage | undefined;
    let finished = false;

    const abort = (message: string) => {
      const error = Object.assign(new Error(message), { code: 'ETIMEDOUT' });
      // Destroying the response makes whoever reads it see this error rather than "aborted".
      if (response && !response.complete) response.destroy(error);
      else req.destroy(error);
    };
    // A timer can fire late, after a long synchronous step (a training batch) held the event loop,
    // ahead of the bytes that came meanwhile: one poll for I/O runs before the server is blamed.
    const afterPendingIO = (check: () => void) => setImmediate(() => finished || check());
    const connectTimer = socket.connecting
      ? setTimeout(
          () =>
            afterPendingIO(() => {
              if (!socket.connecting) return;
              abort(`could not connect to the S3 server within ${connectTimeoutMs} ms (S3_CONNECT_TIMEOUT_MS)`);
            }),
          connectTimeoutMs,
        )
      : undefined;

    const onIdle = () => {
      const before = progressOf(socket);
      afterPendingIO(() => {
        if (response?.complete) return finish();
        // Bytes moved in that poll; or the reader stopped reading (the socket pauses until it does),
        // which is not the server's fault. Either way the deadline starts again.
        const paused = response !== undefined && response.readableLength >= response.readableHighWaterMark;
        if (paused || progressOf(socket) !== before) {
          socket.setTimeout(requestTimeoutMs);
          return;
        }
        abort(
          response
            ? `the S3 server stopped mid-body: no bytes for ${requestTimeoutMs} ms (S3_REQUEST_TIMEOUT_MS)`
            : `the S3 server did not answer: no bytes moved for ${requestTimeoutMs} ms (S3_REQUEST_TIMEOUT_MS)`,
        );
      });
    };
    const onConnect = () => {
      clearTimeout(connectTimer);
      // Node's socket timeout counts reads and writes, and holds off while a large write still drains.
      socket.setTimeout(requestTimeoutMs);
      socket.on('timeout', onIdle);
    };
    // Runs when the response ends, before a keep-alive socket can serve another request (the agent
    // sets its own timeout on a socket it keeps).
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(connectTimer);
      socket.off('connect', onConnect);
      socket.off('timeout', onIdle);
    };

    req.once('response', (res: http.IncomingMessage) => {
      response = res;
      res.once('end', finish);
      res.once('close', finish);
    });
    req.once('close', () => response || finish());
    if (socket.connecting) socket.once('connect', onConnect);
    else onConnect();
  });
}

/** minio's transport (what it calls `request` on), with every request bounded by `deadlines`. */
export function transportWithDeadlines(useSSL: boolean, deadlines: S3Deadlines): Pick<typeof http, 'request'> {
  const base = useSSL ? https : http;
  const request = (options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
    const req = base.request(options, callback);
    enforceDeadlines(req, deadlines);
    return req;
  };
  return { request: request as (typeof http)['request'] };
}

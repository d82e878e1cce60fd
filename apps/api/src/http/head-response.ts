import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** The headers of every server-sent event stream: the run's events and its followed log. */
export const EVENT_STREAM_HEADERS: OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * Answers a HEAD request to a streaming route with the headers its GET would send, and no body;
 * false for any other method. Node discards a HEAD response's writes and sends its headers only at
 * its end, so a stream answered as for GET never sent its headers (an event stream held its client,
 * and a stream place, until the client left), and a download read the whole object from the store
 * to send none of it: a request of a few hundred bytes made the API read a checkpoint's gigabytes.
 * Call it once the route has refused what it would refuse (404, 400), before it takes a stream
 * place or opens the store.
 */
export function answeredHead(res: ServerResponse, headers: OutgoingHttpHeaders): boolean {
  if (res.req.method !== 'HEAD') return false;
  res.writeHead(200, headers);
  res.end();
  return true;
}

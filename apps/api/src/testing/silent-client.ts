import { connect, type Socket } from 'node:net';

/**
 * A client that sends its GET for `url` and then never reads a byte (its socket paused): what a
 * stalled reader looks like to the API. Destroy the socket when done.
 */
export function silentClient(url: URL, authorization: string): Socket {
  const socket = connect(Number(url.port), url.hostname);
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(
    `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${authorization}\r\n\r\n`,
  );
  return socket;
}

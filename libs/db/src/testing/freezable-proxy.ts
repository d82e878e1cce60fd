import { connect, createServer, type Server, type Socket } from 'node:net';
import { Transform } from 'node:stream';

/** A TCP proxy in front of a real server, which a test can freeze without touching the server. */
export interface FreezableProxy {
  /** 127.0.0.1 port the proxy listens on. */
  port: number;
  /**
   * Stops forwarding in both directions, on open connections and on those opened while frozen:
   * clients connect and send, and nothing answers, as with a server stalled by swapping, a VM
   * pause or a partition that sends no reset. The real server sees an idle client.
   */
  freeze(): void;
  /** Forwards again, what was held back first. */
  thaw(): void;
  /**
   * Holds every chunk `delayMs` before forwarding it, each way, in order (0: none): a server that
   * answers, but a round trip later by twice that, as across regions or on a congested link.
   */
  slow(delayMs: number): void;
  /**
   * PostgreSQL stopping or starting (`pg_ctl restart`): open connections are cut, and each new
   * one is answered as the server answers while it shuts down or starts up, a FATAL `57P03`,
   * until `back()`. `severity` and the message are the server's own.
   */
  restart(message?: 'the database system is shutting down' | 'the database system is starting up'): void;
  /** Forwards new connections to the server again after `restart()`. */
  back(): void;
  close(): Promise<void>;
}

/** A protocol ErrorResponse ('E'): the fields PostgreSQL sends to refuse a connection. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Object.entries({ S: 'FATAL', V: 'FATAL', C: code, M: message }).map(([k, v]) => `${k}${v}\0`);
  const body = Buffer.from(`${fields.join('')}\0`);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** pg's SSLRequest, 8 bytes: answered 'N' (no TLS) before the startup message. */
const SSL_REQUEST = 80877103;

/** Starts a proxy on a free loopback port forwarding to `target` (host and port). */
export async function startFreezableProxy(target: { host: string; port: number }): Promise<FreezableProxy> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (frozen) socket.pause();
  };
  let refusal: string | null = null;
  let delayMs = 0;
  const delayed = () =>
    new Transform({
      transform(chunk, _encoding, done) {
        if (delayMs === 0) done(null, chunk);
        else setTimeout(() => done(null, chunk), delayMs);
      },
    });
  const server: Server = createServer((client) => {
    if (refusal !== null) {
      const message = refusal;
      client.on('error', () => client.destroy());
      client.on('data', (packet) => {
        if (packet.length === 8 && packet.readInt32BE(4) === SSL_REQUEST) client.write('N');
        else client.end(errorResponse('57P03', message));
      });
      return;
    }
    const upstream = connect(target.port, target.host);
    // pipe() resumes its source: pause a connection opened while frozen only after it.
    client.pipe(delayed()).pipe(upstream);
    upstream.pipe(delayed()).pipe(client);
    track(client);
    track(upstream);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    port: address.port,
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
    },
    thaw() {
      frozen = false;
      for (const socket of sockets) socket.resume();
    },
    slow(ms) {
      delayMs = ms;
    },
    restart(message = 'the database system is shutting down') {
      refusal = message;
      for (const socket of sockets) socket.destroy();
    },
    back() {
      refusal = null;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

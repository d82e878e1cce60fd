import { connect, createServer, type Server, type Socket } from 'node:net';

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
  close(): Promise<void>;
}

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
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    // pipe() resumes its source: pause a connection opened while frozen only after it.
    client.pipe(upstream);
    upstream.pipe(client);
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
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

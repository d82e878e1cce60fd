import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { createObjectStore } from '../create-object-store';
import type { ObjectStore } from '../object-store';

export interface S3TestServer {
  /** http://127.0.0.1:<port> — pass as S3_ENDPOINT. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Already created. */
  bucket: string;
  /** The S3 object store of its bucket, as the API and workers build it from their settings. */
  objectStore(): Promise<ObjectStore>;
  /** The settings that point an API or a worker at it: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET. */
  env(): Record<'S3_ENDPOINT' | 'S3_ACCESS_KEY' | 'S3_SECRET_KEY' | 'S3_BUCKET', string>;
  /** Takes the server down, its objects kept: connections to its port are refused until `up()`. */
  down(): Promise<void>;
  /** Brings it back on the same port, with the objects it held. */
  up(): Promise<void>;
  /** Closes the server and deletes its files. */
  stop(): Promise<void>;
}

/**
 * An S3 emulator over real HTTP on a free loopback port, its data in a fresh temp folder, for tests
 * that need the S3 path without MinIO (none can be installed on the project's machines). s3rver
 * does not check signatures, so any keys work; it lacks some calls (e.g. listing multipart uploads).
 */
export async function startS3TestServer(options: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? 'trainyard-test';
  const directory = await mkdtemp(join(tmpdir(), 'trainyard-s3rver-'));
  // Port 0 at first: the OS picks a free port, so parallel suites never collide; the same one after `down()`.
  const serve = (port: number) =>
    new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: bucket }] });
  let server = serve(0);
  let address;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let stopped = false;
  let running = true;
  const endpoint = `http://127.0.0.1:${address.port}`;
  const [accessKey, secretKey] = ['S3RVER', 'S3RVER'];
  return {
    endpoint,
    accessKey,
    secretKey,
    bucket,
    objectStore: () => createObjectStore({ driver: 's3', endpoint, accessKey, secretKey, bucket, region: 'us-east-1' }),
    env: () => ({ S3_ENDPOINT: endpoint, S3_ACCESS_KEY: accessKey, S3_SECRET_KEY: secretKey, S3_BUCKET: bucket }),
    async down() {
      if (!running) return;
      running = false;
      // close() alone stops new connections but keeps serving the open keep-alive ones: a client
      // holding one would never see the outage. Every connection goes, as when a server dies.
      const closing = server.close();
      (server as unknown as { httpServer?: { closeAllConnections(): void } }).httpServer?.closeAllConnections();
      await closing;
    },
    async up() {
      if (running || stopped) return;
      server = serve(address.port);
      await server.run();
      running = true;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running) await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

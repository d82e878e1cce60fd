import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import type { TrainyardConfig } from '@trainyard/config';
import { CONFIG, REDIS } from '@trainyard/infrastructure';
import { REDIS_PING_DEADLINE_MS, redisProblem } from '../redis-problem';
import { WorkerHost } from '../worker-host.service';
import { WorkerMetrics } from './worker-metrics';

/** The longest /readyz waits for Redis's PING (see REDIS_PING_DEADLINE_MS). */
export const READINESS_REDIS_DEADLINE_MS = REDIS_PING_DEADLINE_MS;
/** /readyz's body while Redis refuses this worker's writes as full (it answers PING all the same). */
export const REDIS_FULL_READINESS = 'redis full: takes no job until Redis takes writes again';

/** WORKER_METRICS_PORT (or WORKER_METRICS_HOST) cannot be listened on: the worker stops before it registers. */
export class WorkerMetricsListenError extends Error {
  constructor(host: string, port: number, cause: NodeJS.ErrnoException) {
    const why =
      cause.code === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use (EADDRINUSE): stop what listens there or set WORKER_METRICS_PORT to a free port (0: any)`
        : `cannot listen on ${host}:${port} (${cause.code ?? cause.message}): check WORKER_METRICS_PORT and WORKER_METRICS_HOST`;
    super(`Worker not started: WORKER_METRICS_PORT=${port}: ${why}`);
    this.name = 'WorkerMetricsListenError';
  }
}

/**
 * Serves this worker's Prometheus metrics at GET /metrics, GET /healthz (liveness: the process
 * answers; never Redis, so a Redis outage does not get every worker pod restarted) and GET /readyz
 * (200 while it consumes and Redis answers a PING within READINESS_REDIS_DEADLINE_MS; 503 naming
 * why not: starting, draining, stopping, or Redis) on WORKER_METRICS_HOST:WORKER_METRICS_PORT;
 * nothing when the port is unset, since several workers (the demo, tests, `npm run chaos`) may
 * share a host. A plain node:http server: the worker is a Nest application context with no HTTP
 * stack, and needs none for three routes.
 *
 * It listens at module init, before any bootstrap hook: a port already taken stops the worker
 * before it registers in `workers` or consumes a job (a crash-looping pod would otherwise leave a
 * lost worker, counted as serving, at every restart).
 */
@Injectable()
export class WorkerMetricsServer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server?: Server;

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly metrics: WorkerMetrics,
    private readonly host: WorkerHost,
  ) {}

  async onModuleInit(): Promise<void> {
    const settings = this.config.worker.metrics;
    if (!settings) return;
    const server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new WorkerMetricsListenError(settings.host, settings.port, error)),
      );
      server.listen(settings.port, settings.host, () => resolve());
    });
    this.server = server;
    this.logger.log(`metrics on http://${settings.host}:${this.port()}/metrics`);
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    const text = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`${body}\n`);
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/healthz' && path !== '/readyz')) {
      text(404, 'not found: GET /metrics, /healthz or /readyz');
      return;
    }
    if (path === '/healthz') {
      text(200, 'ok');
      return;
    }
    if (path === '/readyz') {
      void this.readiness().then(([status, body]) => text(status, body));
      return;
    }
    this.metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body),
      (error: Error) => text(500, `metrics failed: ${error.message}`),
    );
  }

  /** `consuming` only while the worker takes jobs and can reach Redis, where they are, and write to it. */
  private async readiness(): Promise<[number, string]> {
    const state = this.host.readiness;
    if (state !== 'consuming') return [503, state];
    if (this.host.redisFull) return [503, REDIS_FULL_READINESS];
    const problem = await redisProblem(this.redis);
    return problem === null ? [200, state] : [503, `redis unreachable: ${problem}`];
  }

  /** The port listened on (the chosen one when WORKER_METRICS_PORT=0); undefined when not serving. */
  port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

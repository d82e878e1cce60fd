import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { WorkerHost } from '../worker-host.service';
import { WorkerMetrics } from './worker-metrics';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Serves this worker's Prometheus metrics at GET /metrics, GET /healthz (liveness: the process
 * answers) and GET /readyz (200 while it consumes; 503 naming why not: starting, draining,
 * stopping) on WORKER_METRICS_HOST:WORKER_METRICS_PORT; nothing when the port is unset, since
 * several workers (the demo, tests, `npm run chaos`) may share a host. A plain node:http server:
 * the worker is a Nest application context with no HTTP stack, and needs none for three routes.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server?: Server;

  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly metrics: WorkerMetrics,
    private readonly host: WorkerHost,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const settings = this.config.worker.metrics;
    if (!settings) return;
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' || (path !== '/metrics' && path !== '/healthz' && path !== '/readyz')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics, /healthz or /readyz\n');
        return;
      }
      if (path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (path === '/readyz') {
        const state = this.host.readiness;
        res.writeHead(state === 'consuming' ? 200 : 503, { 'content-type': 'text/plain' }).end(`${state}\n`);
        return;
      }
      this.metrics.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body),
        (error: Error) =>
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`),
      );
    });
    // A listen error (port taken) stops the worker at start, with the address in the message.
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) =>
        reject(new Error(`worker metrics cannot listen on ${settings.host}:${settings.port}: ${error.message}`)),
      );
      server.listen(settings.port, settings.host, () => resolve());
    });
    this.server = server;
    this.logger.log(`metrics on http://${settings.host}:${this.port()}/metrics`);
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

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import helmet from 'helmet';
import { REQUEST_ID_HEADER } from '../logging/request-id';
import { problem, sendProblem } from './problem-details.filter';
import { isDatasetUpload } from './request-body-deadline';

/** What the API accepts in a body: JSON, up to this size (a pipeline of many steps fits easily). */
export const JSON_BODY_LIMIT = '1mb';
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Liveness and readiness answer whatever the Host (kubelet probes use the pod's address). */
const ANY_HOST_PATHS = new Set(['/healthz', '/readyz']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.includes(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Transport-level rules for every request, before any route: Host names (DNS rebinding), JSON-only
 * bodies (an HTML form from another site cannot post), CORS closed unless configured, and
 * security headers with a CSP that allows only the dashboard's own scripts.
 */
export function hardenHttp(app: INestApplication, config: TrainyardConfig): void {
  // Behind an ingress, `req.ip` is the client's address (from X-Forwarded-For) only when the hop is trusted.
  if (config.api.trustProxy.length)
    (app.getHttpAdapter().getInstance() as { set(name: string, value: unknown): void }).set(
      'trust proxy',
      config.api.trustProxy,
    );
  const allowedHosts = new Set([...LOOPBACK_NAMES, ...config.api.allowedHosts.map((h) => h.toLowerCase())]);
  if (!['0.0.0.0', '::'].includes(config.api.host)) allowedHosts.add(config.api.host.toLowerCase());
  app.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const host = hostName(req.headers.host);
    if (!ANY_HOST_PATHS.has(path) && (host === null || !allowedHosts.has(host))) {
      return refuse(
        res,
        421,
        'Misdirected Request',
        'Host',
        `This server does not answer to that Host; add the name to API_ALLOWED_HOSTS`,
      );
    }
    if (
      BODY_METHODS.has(req.method ?? '') &&
      hasBody(req) &&
      !isJson(req.headers['content-type']) &&
      !isDatasetUpload(req)
    ) {
      return refuse(res, 415, 'Unsupported Media Type', 'Content-Type', 'Send the body as application/json');
    }
    next();
  });
  if (config.api.corsOrigins.length)
    app.enableCors({ origin: config.api.corsOrigins, credentials: false, maxAge: 600 });
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:', 'blob:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      // Served over plain HTTP on loopback by default; a TLS proxy in front sets HSTS itself.
      strictTransportSecurity: false,
      crossOriginEmbedderPolicy: false,
    }),
  );
  app.use('/docs', (_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    res.setHeader('content-security-policy', DOCS_CSP);
    next();
  });
}

/** Swagger UI needs inline styles and its own init script: a looser CSP for /docs only. */
export const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'";

function hostName(header: string | undefined): string | null {
  if (!header || !/^[\x21-\x7e]{1,255}$/.test(header)) return null;
  const ipv6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/i.exec(header);
  if (ipv6) return ipv6[1]!.toLowerCase();
  const match = /^([a-z0-9.-]+)(?::\d{1,5})?$/i.exec(header);
  return match ? match[1]!.toLowerCase() : null;
}

/** Whether a request carries a body (a length above 0, or chunked). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A Content-Type header's media type, lowercase, without its parameters (`; charset=…`); '' when absent. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function isJson(contentType: string | undefined): boolean {
  const type = mediaType(contentType);
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function refuse(res: ServerResponse, status: number, error: string, field: string, message: string): void {
  const requestId = res.getHeader(REQUEST_ID_HEADER);
  sendProblem(
    res,
    problem(
      status,
      { error, message, errors: [{ field, message }] },
      typeof requestId === 'string' ? requestId : undefined,
    ),
  );
}

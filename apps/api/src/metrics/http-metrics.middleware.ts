import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Histogram } from 'prom-client';

/** The route label of every request no route matched: one series for any number of unknown URLs. */
export const UNMATCHED_ROUTE = 'unmatched';
/**
 * The status label of a request whose client went away before any answer was sent (nginx's
 * "client closed request"): no status was sent, and the 200 Node presets would count it a success.
 */
export const CLIENT_CLOSED_STATUS = '499';

type HttpDuration = Histogram<'method' | 'route' | 'status_code'>;

/**
 * Times every request from its arrival (this is the first middleware) to the end of its answer,
 * with the status actually sent: what guards refuse (401, 403, a project's 404), what the
 * exception filter maps (a domain error answered 422), what middleware refuses before routing
 * (421, 415, the body parser's 400 and 413: labelled by the route `routeOf` finds for them). An event stream (a run's events, a followed log) is timed to its headers, how long
 * it took to open, not how long the viewer stayed, so latency quantiles by route keep their
 * meaning. Labelled by the route pattern the router matched (`/v1/runs/:id`, never the id), or
 * `unmatched`, so the number of series stays bounded whatever URLs clients send.
 */
export function httpMetrics(
  duration: HttpDuration,
  routeOf: (req: IncomingMessage) => string | undefined = () => undefined,
) {
  return (req: IncomingMessage & { route?: { path?: unknown } }, res: ServerResponse, next: () => void): void => {
    const start = performance.now();
    let headersAt: number | undefined;
    // Every answer's headers go through writeHead (an implicit header included): note when.
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
      headersAt ??= performance.now();
      return writeHead.apply(this, args);
    } as ServerResponse['writeHead'];
    const observe = () => {
      const path = req.route?.path;
      const stream = /^text\/event-stream\b/i.test(String(res.getHeader('content-type') ?? ''));
      const until = stream && headersAt !== undefined ? headersAt : performance.now();
      duration.observe(
        {
          method: req.method ?? '',
          // Refused before routing (a body too large or not JSON, a Host refused): the route it was for.
          route: typeof path === 'string' ? path : (res.statusCode !== 404 && routeOf(req)) || UNMATCHED_ROUTE,
          status_code: res.headersSent ? String(res.statusCode) : CLIENT_CLOSED_STATUS,
        },
        (until - start) / 1000,
      );
    };
    // 'close' ends every answer, sent in full or cut short: one observation per request.
    res.once('close', observe);
    // A streamed answer carries a dozen listeners of its own (pipeline, the stall guard, the
    // key re-check, this): more than Node's default of 10 is no leak here, and no warning.
    res.setMaxListeners(32);
    next();
  };
}

/** What `routeOf` reads of an Express router: its layers, a route's path and methods, and whether a path matches. */
interface RouterLayer {
  route?: { path?: unknown; methods?: Record<string, boolean> };
  match(path: string): boolean;
}

/**
 * The route template the router would have matched `req` to, for a request answered before the
 * router saw it; undefined for none. Read from the router's own layers (`router.stack`), so it
 * follows every route Nest registered.
 */
export function routeByRouter(router: () => { stack?: RouterLayer[] } | undefined) {
  return (req: IncomingMessage): string | undefined => {
    const path = (req.url ?? '').split('?')[0]!;
    const method = (req.method ?? '').toLowerCase();
    for (const layer of router()?.stack ?? []) {
      const route = layer.route;
      if (typeof route?.path !== 'string' || !(route.methods?.[method] || route.methods?.['_all'])) continue;
      try {
        if (layer.match(path)) return route.path;
      } catch {
        // A path the router cannot decode (`%E0%A4%A`): no route is its.
        return undefined;
      }
    }
    return undefined;
  };
}

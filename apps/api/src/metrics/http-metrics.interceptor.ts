import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  HttpException,
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { tap, type Observable } from 'rxjs';
import { PrometheusRegistry } from './prometheus.registry';

/**
 * Times every request a controller handles, labelled by its route template (`/v1/runs/:id`, never
 * the id itself, so the number of series stays bounded). Errors count with the status their
 * exception maps to. A streamed answer (server-sent events) is timed to its first byte.
 */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly prometheus: PrometheusRegistry) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    // Express's request: Node's, plus the matched route once the router chose one.
    const request = http.getRequest<IncomingMessage & { route?: { path?: string } }>();
    const response = http.getResponse<ServerResponse>();
    const end = this.prometheus.httpDuration.startTimer();
    const route = () => request.route?.path ?? 'unmatched';
    return next.handle().pipe(
      tap({
        next: () => end({ method: request.method ?? '', route: route(), status_code: String(response.statusCode) }),
        error: (err: unknown) =>
          end({
            method: request.method ?? '',
            route: route(),
            status_code: String(err instanceof HttpException ? err.getStatus() : 500),
          }),
      }),
    );
  }
}

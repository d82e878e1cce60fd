import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Inject, Logger, NotFoundException, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import type { RunLogPage } from '@trainyard/contracts';
import { CONFIG } from '@trainyard/infrastructure';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { SseConnectionLimiter } from '../http/sse-connection.limiter';
import { keepSseAlive } from '../http/sse-keepalive';
import { answeredHead, EVENT_STREAM_HEADERS } from '../http/head-response';
import { endIfStalled } from '../http/stalled-client';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import {
  formatRunLogCursor,
  RUN_LOG_DEFAULT_LIMIT,
  RUN_LOG_MAX_LIMIT,
  RunLogCursorSchema,
  RunLogQuerySchema,
  type RunLogCursor,
  type RunLogQuery,
} from './run-log-query';
import { RunIdSchema } from './run-queries';
import { RunLogsService } from './run-logs.service';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });
const lastEventIdPipe = new ZodValidationPipe(RunLogCursorSchema.optional(), 'Invalid header', {
  field: 'Last-Event-ID',
});
/** How often a follower looks for new lines: the worker writes them every RUN_LOG_FLUSH_MS (2 s). */
const FOLLOW_POLL_MS = 1000;
const FOLLOW_BATCH = 500;

/**
 * A run's log: the worker's lines about it and what its training printed, every attempt, in
 * order (see RunLogWriter for how it is stored).
 */
@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
export class RunLogsController {
  private readonly logger = new Logger(RunLogsController.name);

  constructor(
    private readonly runLogs: RunLogsService,
    private readonly limiter: SseConnectionLimiter,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  @Get(':id/logs')
  @ApiOperation({
    summary:
      "A run's log (worker lines and the training's stdout/stderr), paged; with follow=true (or Accept: text/event-stream) server-sent events until the run ends",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({ name: 'after', required: false, description: '`next` of an earlier page (`<attempt>-<chunk>-<offset>`)' })
  @ApiQuery({
    name: 'limit',
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: RUN_LOG_MAX_LIMIT, default: RUN_LOG_DEFAULT_LIMIT },
  })
  @ApiQuery({
    name: 'attempt',
    required: false,
    schema: { type: 'integer', minimum: 1 },
    description: "Only this attempt's lines",
  })
  @ApiQuery({ name: 'follow', required: false, schema: { type: 'boolean', default: false } })
  @ApiProduces('application/json', 'text/event-stream')
  @Responds(200, 'RunLogPage', 'A page of lines; followed, `line` events (a RunLogLine each) and an `end` event')
  async logs(
    @Param('id', runIdPipe) id: string,
    @Query(new ZodValidationPipe(RunLogQuerySchema, 'Invalid query')) query: RunLogQuery,
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    const follow = query.follow || /\btext\/event-stream\b/i.test(req.headers.accept ?? '');
    if (!follow) {
      const read = await this.runLogs.read(id, query);
      const page: RunLogPage = {
        lines: read.entries.map((e) => e.line),
        next: formatRunLogCursor(read.next),
        complete: read.complete,
      };
      const body = JSON.stringify(page);
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      res.end(body);
      return;
    }
    // @Headers takes no pipes in NestJS: checked the same way. A reconnecting EventSource sends
    // the id of the last line it got, which wins over the `after` of its URL.
    const resumeAt = lastEventIdPipe.transform(headerValue(req.headers['last-event-id'])) ?? query.after;
    await this.runLogs.assertRun(id); // 404 before any byte of the stream
    if (answeredHead(res, EVENT_STREAM_HEADERS)) return;
    const release = this.limiter.acquire(principal, res); // 429 before any byte, too
    this.stream(id, { ...query, after: resumeAt }, res, release);
  }

  /** `event: line` per line (its id the cursor after it), then `event: end` once the run has ended and every line was sent. */
  private stream(
    id: string,
    query: RunLogQuery & { after?: RunLogCursor },
    res: ServerResponse,
    release: () => void,
  ): void {
    let closed = false;
    let wake: NodeJS.Timeout | undefined;
    let stopKeepalive = () => undefined as void;
    let drained: (() => void) | undefined;
    const stop = () => {
      closed = true;
      clearTimeout(wake);
      stopKeepalive();
      drained?.();
      release();
    };
    res.on('close', stop);
    // Gone while the run was looked up: 'close' came before the listener and will not come again.
    if (res.destroyed) return stop();
    res.writeHead(200, EVENT_STREAM_HEADERS);
    // A log with nothing new yet writes nothing: send the headers now so the client knows it is live.
    res.flushHeaders();
    stopKeepalive = keepSseAlive(res, this.config.limits.stalledClientMs);
    // A client that stops reading holds its socket's buffer full: nothing more is read for it until
    // it drains (or goes), so a log is never piled up in this process's memory; and one that takes
    // nothing for STALLED_CLIENT_MS is let go, so it does not hold its place under the limits.
    const stalledMs = this.config.limits.stalledClientMs;
    endIfStalled(res, stalledMs, () =>
      this.logger.warn(
        `following the log of run ${id}: the client took nothing for ${stalledMs} ms (STALLED_CLIENT_MS); let go`,
      ),
    );
    const untilDrained = () =>
      new Promise<void>((resolve) => {
        drained = resolve;
        res.once('drain', resolve);
      });
    let after = query.after;
    const poll = async (): Promise<void> => {
      if (closed || res.writableEnded) return; // writableEnded: ended for it (its key revoked, shutdown)
      let full = false;
      try {
        const read = await this.runLogs.read(id, { after, limit: FOLLOW_BATCH, attempt: query.attempt });
        if (res.writableEnded) return;
        for (const { line, after: cursor } of read.entries)
          res.write(`id: ${cursor}\nevent: line\ndata: ${JSON.stringify(line)}\n\n`);
        after = read.next;
        if (read.complete) {
          res.end(`event: end\ndata: ${JSON.stringify({ next: formatRunLogCursor(read.next) })}\n\n`);
          return;
        }
        full = read.entries.length === FOLLOW_BATCH;
        if (res.writableNeedDrain) await untilDrained();
      } catch (error) {
        if (error instanceof NotFoundException) {
          res.end();
          return;
        }
        // The store or the database is briefly away: try again at the next poll.
        this.logger.warn(`following the log of run ${id}: ${(error as Error).message}`);
      }
      if (!closed) wake = setTimeout(() => void poll(), full ? 0 : FOLLOW_POLL_MS);
    };
    void poll();
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

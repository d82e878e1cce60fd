import type { ServerResponse } from 'node:http';
import { Controller, Get, Inject, Logger, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import type { RunEvent } from '@trainyard/contracts';
import { CONFIG } from '@trainyard/infrastructure';
import { RespondsWithoutJson } from '../openapi/response-contract';
import { RunIdSchema } from './run-queries';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { RunHistoryService } from './run-history.service';
import { RunEventsHub } from './run-events.hub';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { SseConnectionLimiter } from '../http/sse-connection.limiter';
import { keepSseAlive } from '../http/sse-keepalive';
import { answeredHead, EVENT_STREAM_HEADERS } from '../http/head-response';
import { endIfStalled } from '../http/stalled-client';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });
/** Bytes of events a client may leave unread before its stream is closed (a few thousand metric points). */
export const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
export class RunEventsController {
  private readonly logger = new Logger(RunEventsController.name);

  constructor(
    private readonly hub: RunEventsHub,
    private readonly queries: RunHistoryService,
    private readonly limiter: SseConnectionLimiter,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  /**
   * `text/event-stream` of a run: `status` first (a snapshot), then `progress` (each BullMQ
   * progress update), `metrics` (new points) and `status` (start, end) as they happen.
   */
  @Get(':id/events')
  @ApiOperation({ summary: 'Server-sent events of a run: status, progress and new metric points, live' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @RespondsWithoutJson(
    200,
    'text/event-stream',
    'Events named status, progress and metrics; the data of each is a RunEvent',
  )
  async events(
    @Param('id', runIdPipe) id: string,
    @Res() res: ServerResponse,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.queries.runStatus(id); // 404 before any byte of the stream
    if (answeredHead(res, EVENT_STREAM_HEADERS)) return;
    const release = this.limiter.acquire(principal, res); // 429 before any byte, too
    // Registered before any further wait: a client gone during one is noticed (Node does not
    // emit 'close' again for a listener added after it), and its place is given back.
    let stop = release;
    res.on('close', () => stop());
    if (res.destroyed) return stop();
    res.writeHead(200, EVENT_STREAM_HEADERS);
    const stalledMs = this.config.limits.stalledClientMs;
    endIfStalled(res, stalledMs, () =>
      this.logger.warn(`events of run ${id}: the client took nothing for ${stalledMs} ms (STALLED_CLIENT_MS); let go`),
    );
    const send = (event: RunEvent) => {
      if (res.writableEnded) return; // ended for it (its key revoked, the API shutting down)
      // A client that stopped reading: its events would pile up here for as long as the run
      // trains. Past the bound it is let go; a client reconnects and starts from a snapshot.
      if (res.writableLength > MAX_UNREAD_BYTES) return res.destroy();
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    // Subscribed before the snapshot is read, so a client that loads the series after seeing the
    // snapshot misses no point (it may see one twice, and merges by step); what arrives before the
    // snapshot is sent waits behind it, so the newest status is always the last one sent.
    let held: RunEvent[] | null = [];
    const unsubscribe = await this.hub.subscribe(id, (event) => (held ? held.push(event) : send(event)));
    const stopKeepalive = keepSseAlive(res, stalledMs);
    stop = () => {
      stopKeepalive();
      unsubscribe();
      release();
    };
    if (res.destroyed) return stop();
    const snapshot = await this.queries.runStatus(id);
    if (res.destroyed) return; // gone meanwhile: 'close' has stopped everything
    send({ type: 'status', runId: id, ...snapshot });
    for (const event of held) send(event);
    held = null;
  }
}

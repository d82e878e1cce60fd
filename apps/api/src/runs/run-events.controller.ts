import type { ServerResponse } from 'node:http';
import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { RunEvent } from '@trainyard/contracts';
import { RespondsWithoutJson } from '../openapi/response-contract';
import { RunIdSchema } from './run-queries';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { RunHistoryService } from './run-history.service';
import { RunEventsHub } from './run-events.hub';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { SseConnectionLimiter } from '../http/sse-connection.limiter';
import { keepSseAlive } from '../http/sse-keepalive';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });

@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
export class RunEventsController {
  constructor(
    private readonly hub: RunEventsHub,
    private readonly queries: RunHistoryService,
    private readonly limiter: SseConnectionLimiter,
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
    const snapshot = await this.queries.runStatus(id); // 404 before any byte of the stream
    const release = this.limiter.acquire(principal.keyId); // 429 before any byte, too
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: RunEvent) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    // Subscribed before the snapshot goes out, so a client that loads the series after seeing
    // the snapshot misses no point (it may see one twice, and merges by step).
    let closed = false;
    let stop = () => {
      closed = true;
      release();
    };
    res.on('close', () => stop());
    const unsubscribe = await this.hub.subscribe(id, send);
    const stopKeepalive = keepSseAlive(res);
    stop = () => {
      stopKeepalive();
      unsubscribe();
      release();
    };
    // The client may have gone while we subscribed.
    if (closed) stop();
    else send({ type: 'status', runId: id, ...snapshot });
  }
}

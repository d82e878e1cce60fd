import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Controller, Get, Inject, Logger, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import { RUN_ID_PREFIX, RUN_ID_PREFIX_MIN, RUN_KINDS, RUN_STATUSES } from '@trainyard/contracts';
import { CONFIG } from '@trainyard/infrastructure';
import { RunIdSchema } from './run-queries';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import {
  COMPARE_MAX_POINTS,
  CompareQuerySchema,
  RunListRequestSchema,
  MetricSeriesQuerySchema,
  SERIES_DEFAULT_MAX_POINTS,
  type CompareQuery,
  type RunListRequest,
  type MetricSeriesQuery,
} from './run-history-params';
import { RunHistoryService } from './run-history.service';
import { Responds } from '../openapi/response-contract';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import { projectFilter, type Principal } from '../auth/principal';
import { streamToClient } from '../http/stream-to-client';
import { answeredHead } from '../http/head-response';
import { SseConnectionLimiter } from '../http/sse-connection.limiter';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });

/** What Express's res.json sends as the type: the streamed answer says the same. */
const POINTS_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
/** What Nest passes for `@Res()` here: Express's response, whose `json` answers as a returned value would. */
type ExpressResponse = ServerResponse & { json(body: unknown): unknown };

/**
 * The read side of `/v1/runs` that dashboards use. RunsModule lists this controller first, so
 * these routes are matched first (`/v1/runs/compare` before `/v1/runs/:id`).
 */
@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
export class RunHistoryController {
  private readonly logger = new Logger(RunHistoryController.name);

  constructor(
    private readonly queries: RunHistoryService,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly limiter: SseConnectionLimiter,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'List runs: filter by status, kind, name, tags and spec fields; sort by creation or any metric summary; keyset pages',
  })
  @Responds(200, 'RunListPage')
  @ApiQuery({ name: 'status', required: false, enum: [...RUN_STATUSES] })
  @ApiQuery({ name: 'kind', required: false, enum: [...RUN_KINDS] })
  @ApiQuery({ name: 'q', required: false, description: 'Case-insensitive substring of the name' })
  @ApiQuery({
    name: 'spec.<path>',
    required: false,
    description: 'Equality on a spec field, e.g. `spec.training.learningRate=0.001`, `spec.model.type=classifier`',
  })
  @ApiQuery({
    name: 'idPrefix',
    required: false,
    schema: { type: 'string', pattern: RUN_ID_PREFIX.source, minLength: RUN_ID_PREFIX_MIN, maxLength: 32 },
    description:
      'Runs whose id starts with these hex digits (either case; no dashes): how `trainyard show 1a2b3c4d` finds the run a short id names',
  })
  @ApiQuery({
    name: 'tag',
    required: false,
    isArray: true,
    description: 'Runs carrying this tag; repeat for runs carrying all of them',
  })
  @ApiQuery({
    name: 'archived',
    required: false,
    enum: ['false', 'true', 'any'],
    description: 'Archived runs are left out unless `true` (only them) or `any`',
  })
  @ApiQuery({ name: 'sort', required: false, description: '`createdAt` or `metric:<name>:<best|last|min|max>`' })
  @ApiQuery({ name: 'order', required: false, enum: ['asc', 'desc'] })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  list(
    @Query(new ZodValidationPipe(RunListRequestSchema, 'Invalid query')) query: RunListRequest,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.queries.list({ ...query, project: projectFilter(principal) });
  }

  @Get('compare')
  @ApiOperation({ summary: 'Several runs side by side: list rows, summaries and downsampled series' })
  @Responds(200, 'RunComparison')
  @ApiQuery({ name: 'ids', required: true, description: 'Comma-separated run ids (up to 20)' })
  @ApiQuery({
    name: 'names',
    required: false,
    description: 'Comma-separated metric names (default loss, val_loss, accuracy, val_accuracy)',
  })
  @ApiQuery({
    name: 'maxPoints',
    required: false,
    schema: { type: 'integer', minimum: 10, maximum: 10000, default: 1000 },
    description: `Points per series; runs × names × maxPoints at most ${COMPARE_MAX_POINTS} (a 400 naming maxPoints says the most it may be)`,
  })
  compare(
    @Query(new ZodValidationPipe(CompareQuerySchema, 'Invalid query')) query: CompareQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.queries.compare(query, projectFilter(principal));
  }

  @Get(':id/metrics')
  @ApiOperation({
    summary:
      'Metric points by name and step; without maxPoints every point, streamed as it is read; with maxPoints each series keeps its bucket minima, maxima and last point',
  })
  @Responds(200, 'RunMetrics')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({
    name: 'names',
    required: false,
    description: 'Comma-separated metric names (`name` for one is also accepted)',
  })
  @ApiQuery({ name: 'maxPoints', required: false, schema: { type: 'integer', minimum: 10, maximum: 10000 } })
  async metrics(
    @Param('id', runIdPipe) id: string,
    @Query(new ZodValidationPipe(MetricSeriesQuerySchema, 'Invalid query')) query: MetricSeriesQuery,
    @Res() res: ExpressResponse,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    await this.queries.assertExists(id); // 404 before any byte
    if (query.maxPoints !== undefined) {
      // At most 10,000 points a series: answered whole, as a returned value is (length, ETag, 304).
      res.json(await this.queries.metricPoints(id, query.names, query.maxPoints));
      return;
    }
    if (answeredHead(res, POINTS_HEADERS)) return;
    await this.streamPoints(id, query.names, res, principal);
  }

  /**
   * Every point of the run, which may be millions: they go out as they are read, a page at a time,
   * chunked (so with no length and no ETag). The first page is read before the headers go.
   */
  private async streamPoints(
    id: string,
    names: string[] | undefined,
    res: ServerResponse,
    principal: Principal,
  ): Promise<void> {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    if (res.destroyed) return; // gone while the run was looked up: 'close' came before the listener
    // A page of points waits in memory for each client that reads slowly: a stream place, as a download's.
    await this.limiter.whileHolding(principal, async () => {
      const body = await this.queries.metricPointsJson(id, names, gone.signal).catch((error: unknown) => {
        if (gone.signal.aborted) return null; // gone before the first page: nobody to answer
        throw error;
      });
      if (!body) return;
      res.writeHead(200, POINTS_HEADERS);
      // The next page is read only once the client has taken the last one; a client that goes or a
      // page that fails ends the body short of its closing `]}`, never valid JSON.
      await streamToClient(Readable.from(body), res, {
        what: `metric points of run ${id}`,
        stalledMs: this.config.limits.stalledClientMs,
        logger: this.logger,
      });
    });
  }

  @Get(':id/series')
  @ApiOperation({ summary: "Like /metrics, grouped per metric with each series' real point count (what charts use)" })
  @Responds(200, 'RunSeries')
  @ApiParam({ name: 'id', format: 'uuid' })
  async series(
    @Param('id', runIdPipe) id: string,
    @Query(new ZodValidationPipe(MetricSeriesQuerySchema, 'Invalid query')) query: MetricSeriesQuery,
  ) {
    await this.queries.assertExists(id);
    return this.queries.series(id, query.names, query.maxPoints ?? SERIES_DEFAULT_MAX_POINTS);
  }
}

import type { ServerResponse } from 'node:http';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { IDEMPOTENT_REPLAYED_HEADER, RunSpecSchema, type RunCreated, type RunSpec } from '@trainyard/contracts';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import { projectForWrites, type Principal } from '../auth/principal';
import { schemaRef } from '../openapi/openapi-schemas';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { IdempotencyKeySchema, RunIdSchema } from './run-queries';
import { RunsService } from './runs.service';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });
const idempotencyKeyPipe = new ZodValidationPipe(IdempotencyKeySchema, 'Invalid header', { field: 'Idempotency-Key' });
/** Validated with the contracts' schema (the one the worker trusts), so the API never stores a spec a worker would reject. */
const runSpecPipe = new ZodValidationPipe(RunSpecSchema, 'Invalid run spec', { in: 'body' });

@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
// The list and metric reads of /v1/runs are RunHistoryController's (run-history.controller.ts).
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Submit a pretrain or fine-tune run; it is recorded QUEUED and its job enqueued' })
  @ApiBody({ schema: schemaRef('RunSpec') })
  @Responds(
    201,
    'RunCreated',
    'Run recorded and queued; a repeat under an Idempotency-Key gets the first response with `Idempotent-Replayed: true`',
  )
  @ApiBadRequestResponse({ description: 'Invalid run spec', schema: schemaRef('ProblemDetails') })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Any string up to 255 characters: repeating a submit with the same key and body returns the first response and creates nothing',
  })
  @ApiResponse({
    status: 422,
    description: 'The fine-tune base run is unusable, or the Idempotency-Key was used with another body',
    schema: schemaRef('ProblemDetails'),
  })
  @ApiResponse({ status: 503, description: 'Redis unavailable: the run was marked FAILED' })
  async submit(
    @Body(runSpecPipe) spec: RunSpec,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: ServerResponse,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<RunCreated> {
    // @Headers takes no pipes in NestJS; validate the same way, with the same 400 body.
    const { created, replayed } = await this.runs.submit(
      spec,
      projectForWrites(principal),
      idempotencyKeyPipe.transform(idempotencyKey),
    );
    // The same 201 and body as the first answer (what a retry after a lost answer needs); the header
    // lets a person's client tell that nothing new was made.
    if (replayed) res.setHeader(IDEMPOTENT_REPLAYED_HEADER, 'true');
    return created;
  }

  @Get(':id')
  @ApiOperation({ summary: 'A run with its spec, attempts, metric summaries, checkpoints, progress and result' })
  @Responds(200, 'RunDetailView')
  @ApiParam({ name: 'id', format: 'uuid' })
  detail(@Param('id', runIdPipe) id: string) {
    return this.runs.detail(id);
  }

  @Get(':id/queue')
  @ApiOperation({
    summary: "Where a run's job stands in its class's queue (jobs ahead of it) and how many live workers could take it",
  })
  @Responds(200, 'RunQueueView')
  @ApiParam({ name: 'id', format: 'uuid' })
  queue(@Param('id', runIdPipe) id: string) {
    return this.runs.queuePosition(id);
  }

  @Get(':id/checkpoints')
  @ApiOperation({ summary: 'Checkpoints of a run, by sequence' })
  @Responds(200, 'RunCheckpoints')
  @ApiParam({ name: 'id', format: 'uuid' })
  checkpoints(@Param('id', runIdPipe) id: string) {
    return this.runs.checkpointList(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a run: at once when waiting, between batches when running; no-op when finished' })
  @Responds(200, 'RunView', 'The run after the request: CANCELLED, or RUNNING with cancelRequested')
  @ApiParam({ name: 'id', format: 'uuid' })
  cancel(@Param('id', runIdPipe) id: string) {
    return this.runs.cancel(id);
  }
}

import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { PipelineSpecSchema, type PipelineList, type PipelineSpec } from '@trainyard/contracts';
import { CatalogListsRepository } from '@trainyard/db';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import { projectFilter, projectForWrites, type Principal } from '../auth/principal';
import { CatalogPageQuerySchema, type CatalogPageQueryParams } from '../catalog/catalog-page-query';
import { schemaRef } from '../openapi/openapi-schemas';
import { Responds } from '../openapi/response-contract';
import { PipelineIdSchema } from '../runs/run-queries';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { PipelinesService } from './pipelines.service';

const pipelineIdPipe = new ZodValidationPipe(PipelineIdSchema, 'Invalid pipeline id', { field: 'id' });

@ApiTags('pipelines')
@Owned('pipeline')
@Controller('v1/pipelines')
export class PipelinesController {
  constructor(
    private readonly pipelines: PipelinesService,
    private readonly lists: CatalogListsRepository,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Pipelines, newest first, each with its steps counted by status; keyset pages' })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 100 (default 25)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'The nextCursor of the previous page' })
  @Responds(200, 'PipelineList')
  list(
    @Query(new ZodValidationPipe(CatalogPageQuerySchema, 'Invalid query')) query: CatalogPageQueryParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<PipelineList> {
    return this.lists.pipelines({ ...query, project: projectFilter(principal) });
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Submit pretrain → fine-tunes → evaluations; every step is validated now and recorded as a run of the pipeline',
  })
  @ApiBody({ schema: schemaRef('PipelineSpec') })
  @Responds(
    201,
    'PipelineView',
    'The pipeline (RUNNING) and its runs; the pretrain is queued, the rest wait for their upstream run',
  )
  @ApiBadRequestResponse({
    description: 'Invalid pipeline spec, with the path of every bad field (e.g. finetunes.1.training.epochs)',
    schema: schemaRef('ProblemDetails'),
  })
  @ApiResponse({
    status: 422,
    description: 'A step refers to something unknown (an unregistered dataset)',
    schema: schemaRef('ProblemDetails'),
  })
  @ApiResponse({
    status: 503,
    description: 'Redis unavailable: the pretrain could not be queued, so the pipeline FAILED',
  })
  submit(
    @Body(new ZodValidationPipe(PipelineSpecSchema, 'Invalid pipeline spec', { in: 'body' })) spec: PipelineSpec,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.pipelines.submit(spec, projectForWrites(principal));
  }

  @Get(':id')
  @ApiOperation({
    summary: 'A pipeline: status (RUNNING, SUCCEEDED, FAILED with the reason, CANCELLED) and its runs in step order',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Responds(200, 'PipelineView', 'The pipeline and its runs in step order')
  @ApiResponse({ status: 404, description: 'No pipeline with this id' })
  detail(@Param('id', pipelineIdPipe) id: string) {
    return this.pipelines.detail(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Cancel a pipeline: waiting and held steps at once, running steps between batches; the pipeline is CANCELLED now',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Responds(200, 'PipelineView', 'The pipeline, CANCELLED (also when it already was), and its runs')
  @ApiResponse({ status: 404, description: 'No pipeline with this id' })
  @ApiResponse({ status: 409, description: 'The pipeline already SUCCEEDED or FAILED; nothing was changed' })
  cancel(@Param('id', pipelineIdPipe) id: string) {
    return this.pipelines.cancel(id);
  }
}

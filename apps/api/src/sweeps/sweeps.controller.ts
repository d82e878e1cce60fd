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
import { SweepSpecSchema, type SweepList, type SweepSpec } from '@trainyard/contracts';
import { CatalogListsRepository } from '@trainyard/db';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import { projectFilter, projectForWrites, type Principal } from '../auth/principal';
import { CatalogPageQuerySchema, type CatalogPageQueryParams } from '../catalog/catalog-page-query';
import { schemaRef } from '../openapi/openapi-schemas';
import { Responds } from '../openapi/response-contract';
import { SweepIdSchema } from '../runs/run-queries';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { SweepsService } from './sweeps.service';

const sweepIdPipe = new ZodValidationPipe(SweepIdSchema, 'Invalid sweep id', { field: 'id' });

@ApiTags('sweeps')
@Owned('sweep')
@Controller('v1/sweeps')
export class SweepsController {
  constructor(
    private readonly sweeps: SweepsService,
    private readonly lists: CatalogListsRepository,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Sweeps, newest first: strategy, metric, the parameters searched and runs by status; keyset pages',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 100 (default 25)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'The nextCursor of the previous page' })
  @Responds(200, 'SweepList')
  list(
    @Query(new ZodValidationPipe(CatalogPageQuerySchema, 'Invalid query')) query: CatalogPageQueryParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SweepList> {
    return this.lists.sweeps({ ...query, project: projectFilter(principal) });
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Grid or random search over fine-tune settings: records and queues one fine-tune per combination (≤ 200)',
  })
  @ApiBody({ schema: schemaRef('SweepSpec') })
  @Responds(201, 'SweepCreated', 'The sweep id and the number of runs recorded and queued')
  @ApiBadRequestResponse({
    description:
      'Invalid sweep, naming the bad parameter value (parameters.training.learningRate.1), the bad end of a random range (parameters.training.learningRate.min or .max) or the clashing run',
    schema: schemaRef('ProblemDetails'),
  })
  @ApiResponse({
    status: 422,
    description: 'The base refers to something unusable (base run, registered model or dataset)',
    schema: schemaRef('ProblemDetails'),
  })
  @ApiResponse({
    status: 503,
    description:
      'Redis unavailable: the sweep’s runs could not be queued and were all marked FAILED; the answer says how many',
  })
  submit(
    @Body(new ZodValidationPipe(SweepSpecSchema, 'Invalid sweep spec', { in: 'body' })) spec: SweepSpec,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.sweeps.submit(spec, projectForWrites(principal));
  }

  @Get(':id')
  @ApiOperation({
    summary: "A sweep's leaderboard by its metric: each run's parameter values, status and value, best first",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Responds(200, 'SweepView', 'The sweep, its run counts by status and its leaderboard')
  @ApiResponse({ status: 404, description: 'No sweep with this id' })
  detail(@Param('id', sweepIdPipe) id: string) {
    return this.sweeps.detail(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Cancel a sweep's runs that have not ended: waiting ones at once, running ones between batches; ended runs keep their results",
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Responds(200, 'SweepView', 'The sweep after the request (cancelling again changes nothing)')
  @ApiResponse({ status: 404, description: 'No sweep with this id' })
  cancel(@Param('id', sweepIdPipe) id: string) {
    return this.sweeps.cancel(id);
  }
}

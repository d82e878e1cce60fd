import { Body, Controller, Delete, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { RunUpdate } from '@trainyard/contracts';
import { z } from 'zod';
import { Owned } from '../auth/auth.decorators';
import { schemaRef } from '../openapi/openapi-schemas';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { RunHousekeepingService } from './run-housekeeping.service';
import { RunIdSchema } from './run-queries';
import { runUpdatePipe } from './run-update.pipe';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });
const DeleteQuerySchema = z.strictObject({
  dryRun: z
    .enum(['true', 'false'], 'Expected true or false')
    .transform((value) => value === 'true')
    .default(false),
});

/**
 * What people change on a run after the fact: its name, tags and notes, the archive mark, and
 * deletion (with a dry run). Owners delete their own runs, so `submit` is the scope, not `admin`.
 */
@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
export class RunHousekeepingController {
  constructor(private readonly housekeeping: RunHousekeepingService) {}

  @Patch(':id')
  @ApiOperation({ summary: 'Rename, tag or annotate a run (Markdown notes); fields left out stay as they are' })
  @ApiBody({ schema: schemaRef('RunUpdate') })
  @Responds(200, 'RunDetailView')
  @ApiParam({ name: 'id', format: 'uuid' })
  update(@Param('id', runIdPipe) id: string, @Body(runUpdatePipe) change: RunUpdate) {
    return this.housekeeping.update(id, change);
  }

  @Post(':id/archive')
  @HttpCode(200)
  @ApiOperation({ summary: 'Archive a run: lists leave it out unless asked (archived=true|any); nothing else changes' })
  @Responds(200, 'RunView')
  @ApiParam({ name: 'id', format: 'uuid' })
  archive(@Param('id', runIdPipe) id: string) {
    return this.housekeeping.setArchived(id, true);
  }

  @Post(':id/unarchive')
  @HttpCode(200)
  @ApiOperation({ summary: 'Bring an archived run back into lists' })
  @Responds(200, 'RunView')
  @ApiParam({ name: 'id', format: 'uuid' })
  unarchive(@Param('id', runIdPipe) id: string) {
    return this.housekeeping.setArchived(id, false);
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Delete a finished run with its metrics, checkpoints and stored objects; dryRun=true only says what would go',
  })
  @Responds(200, 'RunDeletion', 'What was removed (or, with dryRun, what would be)')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({ name: 'dryRun', required: false, enum: ['true', 'false'] })
  @ApiResponse({
    status: 409,
    description:
      'The run is queued or running, backs a registered model, is the base of another run, or is a step of a running pipeline; `blockers` lists each',
    schema: schemaRef('ProblemDetails'),
  })
  remove(
    @Param('id', runIdPipe) id: string,
    @Query(new ZodValidationPipe(DeleteQuerySchema, 'Invalid query')) query: z.output<typeof DeleteQuerySchema>,
  ) {
    return this.housekeeping.delete(id, query.dryRun);
  }
}

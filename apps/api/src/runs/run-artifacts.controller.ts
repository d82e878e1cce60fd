import type { ServerResponse } from 'node:http';
import { Controller, Get, Inject, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { augmentationSampleKey, ObjectNotFoundError, type ObjectStore } from '@trainyard/storage';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { RunIdSchema } from './run-queries';
import { Owned } from '../auth/auth.decorators';
import { OBJECT_STORE } from '@trainyard/infrastructure';
import { RespondsWithoutJson } from '../openapi/response-contract';
import { RunHistoryService } from './run-history.service';

/** Files a run saves beside its checkpoints, served through the API (no store credentials needed). */
@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
export class RunArtifactsController {
  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    private readonly queries: RunHistoryService,
  ) {}

  @Get(':id/augmentation.png')
  @ApiOperation({ summary: "A PNG grid of the fine-tune's augmented training samples (original first in each row)" })
  @RespondsWithoutJson(200, 'image/png')
  @ApiParam({ name: 'id', format: 'uuid' })
  async augmentation(
    @Param('id', new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' })) id: string,
    @Res() res: ServerResponse,
  ): Promise<void> {
    // The ownership guard holds a run's files to its project through the run's row: a file left
    // under runs/<id>/ by a worker that wrote it after the run was deleted has none, and is no one's.
    await this.queries.assertExists(id);
    let body: Buffer;
    try {
      body = await this.store.get(augmentationSampleKey(id));
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
      throw new NotFoundException({
        message: `Run ${id} has no augmentation sample (no augmentation, or not started yet)`,
      });
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length });
    res.end(body);
  }
}

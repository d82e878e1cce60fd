import type { ServerResponse } from 'node:http';
import { Controller, Get, Inject, NotFoundException, Param, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Database } from '@trainyard/db';
import { keyFromUri, type ObjectStore } from '@trainyard/storage';
import { z } from 'zod';
import { DATABASE, OBJECT_STORE } from '../infrastructure/infrastructure.tokens';
import { RunIdSchema } from '../runs/run-queries';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', 'id');
const sequencePipe = new ZodValidationPipe(z.coerce.number().int().min(0).max(2_147_483_647), 'Invalid checkpoint sequence', 'sequence');
const filePipe = new ZodValidationPipe(z.string().min(1).max(500), 'Invalid query', 'file');

/**
 * Checkpoint files, served through the API so the browser needs no object-store credentials.
 * Only files the store lists under a COMPLETE checkpoint's prefix can be named, so `file`
 * cannot climb out of it.
 */
@ApiTags('runs')
@Controller('v1/runs')
export class CheckpointFilesController {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  @Get(':id/checkpoints/:sequence/files')
  @ApiOperation({ summary: 'Files of a complete checkpoint (model.json, weights, manifest) with their sizes' })
  @ApiParam({ name: 'id', format: 'uuid' })
  async files(@Param('id', runIdPipe) id: string, @Param('sequence', sequencePipe) sequence: number) {
    const { prefix } = await this.checkpoint(id, sequence);
    const files = (await this.store.list(prefix)).map((o) => ({ file: o.key.slice(prefix.length), bytes: o.size }));
    return { runId: id, sequence, files };
  }

  @Get(':id/checkpoints/:sequence/download')
  @ApiOperation({ summary: 'One file of a complete checkpoint, as an attachment' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({ name: 'file', required: true, description: 'A name from the files listing, e.g. `classifier/model.json`' })
  async download(
    @Param('id', runIdPipe) id: string,
    @Param('sequence', sequencePipe) sequence: number,
    @Query('file', filePipe) file: string,
    @Res() res: ServerResponse,
  ): Promise<void> {
    const { prefix } = await this.checkpoint(id, sequence);
    const listed = await this.store.list(prefix);
    if (!listed.some((o) => o.key === prefix + file)) {
      throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: `Checkpoint #${sequence} of run ${id} has no file "${file}"` });
    }
    // ObjectStore.get answers whole buffers (checkpoints of these models are a few MB at most).
    const body = await this.store.get(prefix + file);
    const name = `${id.slice(0, 8)}-ckpt${sequence}-${file.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    res.writeHead(200, {
      'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'content-length': body.length,
      'content-disposition': `attachment; filename="${name}"`,
    });
    res.end(body);
  }

  private async checkpoint(runId: string, sequence: number): Promise<{ prefix: string }> {
    const row = await this.database.prisma.checkpoint.findUnique({ where: { runId_sequence: { runId, sequence } } });
    if (!row || row.status !== 'COMPLETE') {
      throw new NotFoundException({ statusCode: 404, error: 'Not Found', message: `Run ${runId} has no complete checkpoint #${sequence}` });
    }
    const prefix = keyFromUri(this.store, row.uri);
    return { prefix: prefix.endsWith('/') ? prefix : `${prefix}/` };
  }
}

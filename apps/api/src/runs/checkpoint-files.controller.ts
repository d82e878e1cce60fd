import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  Controller,
  Get,
  Headers,
  HttpException,
  HttpStatus,
  Inject,
  Logger,
  NotFoundException,
  Param,
  Query,
  Res,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import { decimalInt, type CheckpointFiles } from '@trainyard/contracts';
import { CheckpointsRepository } from '@trainyard/db';
import {
  CHECKPOINT_MANIFEST,
  keyFromUri,
  ObjectNotFoundError,
  type ObjectReadStream,
  type ObjectStore,
} from '@trainyard/storage';
import { z } from 'zod';
import { RunIdSchema } from './run-queries';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { SseConnectionLimiter } from '../http/sse-connection.limiter';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';
import { streamToClient } from '../http/stream-to-client';
import { answeredHead } from '../http/head-response';
import { Responds, RespondsWithoutJson } from '../openapi/response-contract';
import { archiveOrder, streamTar, tarLength } from './checkpoint-archive';
import { rangeAsked } from '../http/byte-range';

const runIdPipe = new ZodValidationPipe(RunIdSchema, 'Invalid run id', { field: 'id' });
const sequencePipe = new ZodValidationPipe(
  decimalInt({ min: 0, max: 2_147_483_647, what: 'a checkpoint sequence (0, 1, …)' }),
  'Invalid checkpoint sequence',
  { field: 'sequence' },
);
const filePipe = new ZodValidationPipe(z.string().min(1).max(500), 'Invalid query', { field: 'file' });

/**
 * Checkpoint files, served through the API so the browser needs no object-store credentials.
 * Only files the store lists under a COMPLETE checkpoint's prefix can be named, so `file`
 * cannot climb out of it.
 */
@ApiTags('runs')
@Owned('run')
@Controller('v1/runs')
export class CheckpointFilesController {
  private readonly logger = new Logger(CheckpointFilesController.name);

  constructor(
    private readonly checkpoints: CheckpointsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly limiter: SseConnectionLimiter,
  ) {}

  @Get(':id/checkpoints/:sequence/files')
  @ApiOperation({ summary: 'Files of a complete checkpoint (model.json, weights, manifest) with their sizes' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @Responds(200, 'CheckpointFiles')
  async files(
    @Param('id', runIdPipe) id: string,
    @Param('sequence', sequencePipe) sequence: number,
  ): Promise<CheckpointFiles> {
    const { prefix } = await this.checkpoint(id, sequence);
    const files = (await this.store.list(prefix)).map((o) => ({ file: o.key.slice(prefix.length), bytes: o.size }));
    return { runId: id, sequence, files };
  }

  @Get(':id/checkpoints/:sequence/download')
  @ApiOperation({
    summary:
      'One file of a complete checkpoint, as an attachment; `Range: bytes=a-b` (one range) answers 206 with those bytes, so a large file cut off mid-way is resumed, not sent again',
  })
  @RespondsWithoutJson(200, 'application/octet-stream', 'The file as an attachment (application/json for .json files)')
  @ApiResponse({ status: 206, description: 'The bytes of the one range asked for (Content-Range names them)' })
  @ApiResponse({ status: 416, description: 'A range that starts past the end (Content-Range: bytes */size)' })
  @ApiHeader({ name: 'range', required: false, description: 'One byte range, e.g. `bytes=1048576-`' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiQuery({
    name: 'file',
    required: true,
    description: 'A name from the files listing, e.g. `classifier/model.json`',
  })
  async download(
    @Param('id', runIdPipe) id: string,
    @Param('sequence', sequencePipe) sequence: number,
    @Query('file', filePipe) file: string,
    @Res() res: ServerResponse,
    @CurrentPrincipal() principal: Principal,
    @Headers('range') rangeHeader: string | undefined,
  ): Promise<void> {
    const { prefix } = await this.checkpoint(id, sequence);
    const listed = await this.store.list(prefix);
    const missing = () =>
      new NotFoundException({
        message: `Checkpoint #${sequence} of run ${id} has no file "${file}"`,
      });
    const object = listed.find((o) => o.key === prefix + file);
    if (!object) throw missing();
    const name = `${id.slice(0, 8)}-ckpt${sequence}-${file.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const headers = (size: number | undefined) => ({
      'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      // Without a length from the store the body goes out chunked.
      ...(size === undefined ? {} : { 'content-length': size }),
      'accept-ranges': 'bytes',
      'content-disposition': `attachment; filename="${name}"`,
      'x-content-type-options': 'nosniff',
    });
    // The listing's size: the store is not opened for headers alone (a Range is GET's only, RFC 9110, 14.2).
    if (answeredHead(res, headers(object.size))) return;
    // A COMPLETE checkpoint's files never change (a new checkpoint is a new folder), so a range
    // needs no If-Range: the bytes a client resumes from are the bytes it already has.
    const range = rangeAsked(rangeHeader, object.size);
    if (range.kind === 'unsatisfiable') {
      res.setHeader('content-range', `bytes */${object.size}`);
      throw new HttpException(
        { message: `Range ${rangeHeader} lies outside "${file}" (${object.size} bytes)` },
        HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
      );
    }
    // Before the store is opened: a client holding downloads paused would otherwise hold a socket,
    // a store stream and their buffers each, as many as its key's requests (429 past its places).
    await this.limiter.whileHolding(principal, async () => {
      let opened: ObjectReadStream;
      try {
        opened = await this.store.getStream(object.key, range.kind === 'range' ? range : undefined);
      } catch (error) {
        // Retention may delete it between the listing and now; nothing has been sent yet.
        if (error instanceof ObjectNotFoundError) throw missing();
        throw error;
      }
      res.writeHead(range.kind === 'range' ? 206 : 200, {
        ...headers(opened.size),
        ...(range.kind === 'range' ? { 'content-range': `bytes ${range.start}-${range.end}/${object.size}` } : {}),
      });
      // The store's stream is read only as the client takes the file (weights can be large); a store
      // that fails mid-body leaves the client a body short of its length, and the store's connection goes.
      await streamToClient(opened.body, res, {
        what: `download of checkpoint #${sequence} "${file}" of run ${id}`,
        stalledMs: this.config.limits.stalledClientMs,
        logger: this.logger,
      });
    });
  }

  @Get(':id/checkpoints/:sequence/archive')
  @ApiOperation({
    summary:
      'A complete checkpoint as one tar archive: every file under <run>-ckpt<N>/, manifest.json (sha256 of every file) first; streamed',
  })
  @RespondsWithoutJson(200, 'application/x-tar', 'The archive as an attachment')
  @ApiParam({ name: 'id', format: 'uuid' })
  async archive(
    @Param('id', runIdPipe) id: string,
    @Param('sequence', sequencePipe) sequence: number,
    @Res() res: ServerResponse,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    const { prefix } = await this.checkpoint(id, sequence);
    const files = archiveOrder(
      (await this.store.list(prefix)).map((o) => ({ file: o.key.slice(prefix.length), bytes: o.size })),
    );
    if (files.length === 0)
      throw new NotFoundException({
        message: `Checkpoint #${sequence} of run ${id} has no files in the store`,
      });
    const folder = `${id.slice(0, 8)}-ckpt${sequence}`;
    const length = tarLength(folder, files);
    const headers = {
      'content-type': 'application/x-tar',
      ...(length === null ? {} : { 'content-length': length }),
      'content-disposition': `attachment; filename="${folder}.tar"`,
      'x-content-type-options': 'nosniff',
      'x-checkpoint-files': String(files.length),
      'x-checkpoint-manifest': String(files.some((f) => f.file === CHECKPOINT_MANIFEST)),
    };
    if (answeredHead(res, headers)) return;
    // A place as a download's.
    await this.limiter.whileHolding(principal, async () => {
      // Files are opened one at a time as the client reads: a store that lost one since the listing cuts the body short.
      const tar = streamTar(folder, files, async (file) => (await this.store.getStream(prefix + file)).body);
      res.writeHead(200, headers);
      await streamToClient(Readable.from(tar), res, {
        what: `archive of checkpoint #${sequence} of run ${id}`,
        stalledMs: this.config.limits.stalledClientMs,
        logger: this.logger,
      });
    });
  }

  private async checkpoint(runId: string, sequence: number): Promise<{ prefix: string }> {
    const row = await this.checkpoints.bySequence(runId, sequence);
    if (!row || row.status !== 'COMPLETE') {
      throw new NotFoundException({
        message: `Run ${runId} has no complete checkpoint #${sequence}`,
      });
    }
    const prefix = keyFromUri(this.store, row.uri);
    return { prefix: prefix.endsWith('/') ? prefix : `${prefix}/` };
  }
}

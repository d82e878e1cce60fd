import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  Controller,
  HttpCode,
  Inject,
  Logger,
  Post,
  Query,
  Req,
  Res,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { TrainyardConfig } from '@trainyard/config';
import { NameSchema } from '@trainyard/contracts';
import { CONFIG } from '@trainyard/infrastructure';
import { z } from 'zod';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { mediaType } from '../http/http-hardening';
import { endIfStalled } from '../http/stalled-client';
import { projectForWrites, type Principal } from '../auth/principal';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { DatasetUploadLimiter } from './dataset-upload.limiter';
import { DatasetUploadService } from './dataset-upload.service';
import { DATASET_UPLOAD_TYPE } from './upload-entry';

const UploadQuerySchema = z.strictObject({ name: NameSchema });

@ApiTags('datasets')
@Controller('v1/datasets')
export class DatasetUploadController {
  private readonly logger = new Logger(DatasetUploadController.name);

  constructor(
    private readonly uploads: DatasetUploadService,
    private readonly limiter: DatasetUploadLimiter,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  @Post('uploads')
  @HttpCode(201)
  @ApiOperation({
    summary:
      'Upload an image folder as a tar (one subfolder per class; `Content-Type: application/x-tar`), streamed into the object store and registered as a dataset',
  })
  @ApiConsumes(DATASET_UPLOAD_TYPE)
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiQuery({ name: 'name', description: 'The dataset name (unique in the project)' })
  @Responds(
    201,
    'DatasetUploaded',
    'Stored and registered: its class names and image counts, and the files named as images whose bytes are none (left out)',
  )
  @ApiResponse({ status: 409, description: 'The name is taken' })
  @ApiResponse({
    status: 429,
    description:
      'Too many uploads open at once: DATASET_UPLOAD_MAX_PER_KEY for this key, or DATASET_UPLOAD_MAX_PER_PROCESS on this server (with Retry-After)',
  })
  @ApiResponse({
    status: 408,
    description:
      'The body arrived slower than DATASET_UPLOAD_MIN_BYTES_PER_SECOND, averaged over DATASET_UPLOAD_RATE_WINDOW_MS, while another upload was refused the place it held: cut, nothing stored',
  })
  @ApiResponse({
    status: 413,
    description:
      "Larger than DATASET_UPLOAD_MAX_BYTES, or than the room the project's uploads leave under QUOTA_PROJECT_UPLOAD_BYTES (every byte of the tar counts, entries left out included)",
  })
  @ApiResponse({
    status: 422,
    description:
      'An entry that could leave the folder or is not a plain file (links, devices), an image over 64 MiB, more images or more entries left out than FOLDER_WALK_MAX_FILES, no image in a class folder (files named as images whose bytes are none are counted out), a single class',
  })
  async upload(
    @Query(new ZodValidationPipe(UploadQuerySchema, 'Invalid upload')) query: z.infer<typeof UploadQuerySchema>,
    @Req() request: IncomingMessage,
    @Res({ passthrough: true }) res: ServerResponse,
    @CurrentPrincipal() principal: Principal,
  ) {
    // Any other type (JSON, which the body parser has read already) is not a folder.
    if (mediaType(request.headers['content-type']) !== DATASET_UPLOAD_TYPE) {
      const message = `Send the folder as a tar with Content-Type: ${DATASET_UPLOAD_TYPE}`;
      throw new UnsupportedMediaTypeException({
        message,
        errors: [{ field: 'Content-Type', message }],
      });
    }
    // Before a byte of the body is read (a 429 with Retry-After, as the rate limit's).
    const release = this.limiter.acquire(principal.keyId, principal.project, res);
    // A client that stops sending holds its place and its part of an image: cut it, as a long
    // answer whose client stopped reading is (its place given back when its socket closes). Only
    // while the body comes: registering what arrived (a listing, the database) has deadlines of its own.
    const stalledMs = this.config.limits.stalledClientMs;
    endIfStalled(res, stalledMs, () =>
      this.logger.warn(
        `Dataset upload "${query.name}": no byte from the client for ${stalledMs} ms (STALLED_CLIENT_MS); let go`,
      ),
    );
    request.once('end', () => res.setTimeout(0));
    const length = Number(request.headers['content-length']);
    // A slow body is cut only while another upload was lately refused the place it holds.
    const windowMs = this.config.limits.datasetUploadRateWindowMs;
    const contended = () => this.limiter.wanted(principal.project, windowMs);
    try {
      return await this.uploads.upload(
        request,
        query.name,
        projectForWrites(principal),
        Number.isFinite(length) ? length : undefined,
        contended,
      );
    } finally {
      release();
    }
  }
}

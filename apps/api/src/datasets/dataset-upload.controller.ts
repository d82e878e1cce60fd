import type { IncomingMessage } from 'node:http';
import { Controller, HttpCode, Post, Query, Req, UnsupportedMediaTypeException } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { NameSchema } from '@trainyard/contracts';
import { z } from 'zod';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { mediaType } from '../http/http-hardening';
import { projectForWrites, type Principal } from '../auth/principal';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { DatasetUploadService } from './dataset-upload.service';
import { DATASET_UPLOAD_TYPE } from './upload-entry';

const UploadQuerySchema = z.strictObject({ name: NameSchema });

@ApiTags('datasets')
@Controller('v1/datasets')
export class DatasetUploadController {
  constructor(private readonly uploads: DatasetUploadService) {}

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
    status: 413,
    description: 'Larger than DATASET_UPLOAD_MAX_BYTES (every byte of the tar counts, entries left out included)',
  })
  @ApiResponse({
    status: 422,
    description:
      'An entry that could leave the folder or is not a plain file (links, devices), an image over 64 MiB, more images or more entries left out than FOLDER_WALK_MAX_FILES, no image in a class folder (files named as images whose bytes are none are counted out), a single class',
  })
  upload(
    @Query(new ZodValidationPipe(UploadQuerySchema, 'Invalid upload')) query: z.infer<typeof UploadQuerySchema>,
    @Req() request: IncomingMessage,
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
    const length = Number(request.headers['content-length']);
    return this.uploads.upload(
      request,
      query.name,
      projectForWrites(principal),
      Number.isFinite(length) ? length : undefined,
    );
  }
}

import type { ServerResponse } from 'node:http';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DATASET_LIST_CLASS_NAMES, type DatasetList } from '@trainyard/contracts';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import { projectFilter, projectForWrites, type Principal } from '../auth/principal';
import { CatalogPageQuerySchema, type CatalogPageQueryParams } from '../catalog/catalog-page-query';
import { schemaRef } from '../openapi/openapi-schemas';
import { Responds, RespondsWithoutJson } from '../openapi/response-contract';
import { decimalInt } from '@trainyard/contracts';
import { DATASET_SAMPLE_MAX_BYTES, DATASET_SAMPLES_PER_CLASS } from './dataset-samples';
import { DatasetDeletionService } from './dataset-deletion.service';
import { DatasetSamplesService } from './dataset-samples.service';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { DatasetIdSchema, DatasetRegistrationSchema, type DatasetRegistration } from './dataset-registration.dto';
import { DatasetsService } from './datasets.service';

const datasetIdPipe = new ZodValidationPipe(DatasetIdSchema, 'Invalid dataset id', { field: 'id' });

/** Digits only (decimalInt: no sign, exponent, spaces or leading zero), so `1e3`, `-1` and ` 2` are refused, not coerced. */
const ClassIndexSchema = decimalInt({ min: 0, max: 999_999, what: 'the index of a class (0, 1, …)' });
const SampleIndexSchema = decimalInt({ min: 0, max: DATASET_SAMPLES_PER_CLASS - 1, what: 'a sample index (0, 1, …)' });

@ApiTags('datasets')
@Owned('dataset')
@Controller('v1/datasets')
export class DatasetsController {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly samples: DatasetSamplesService,
    private readonly deletion: DatasetDeletionService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Register an image folder (one subfolder per class) on a local path or under an S3 prefix of the store',
  })
  @Responds(201, 'DatasetView', 'Registered: its class names and image counts')
  @ApiResponse({
    status: 422,
    description:
      'Not a usable folder: no class, a single class, an empty class, a path outside TRAINYARD_LOCAL_ROOTS or that is not a folder, or a folder larger than FOLDER_WALK_MAX_FILES / FOLDER_WALK_MAX_MS allow',
  })
  @ApiResponse({ status: 409, description: 'The name is taken' })
  register(
    @Body(new ZodValidationPipe(DatasetRegistrationSchema, 'Invalid dataset', { in: 'body' }))
    body: DatasetRegistration,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.datasets.register(body, projectForWrites(principal));
  }

  @Get()
  @ApiOperation({
    summary: `Registered datasets, newest first: each with its classes counted and the first ${DATASET_LIST_CLASS_NAMES} named (GET /v1/datasets/:id has them all); keyset pages`,
  })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 100 (default 25)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'The nextCursor of the previous page' })
  @Responds(200, 'DatasetList')
  list(
    @Query(new ZodValidationPipe(CatalogPageQuerySchema, 'Invalid query')) query: CatalogPageQueryParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DatasetList> {
    return this.datasets.list({ ...query, project: projectFilter(principal) });
  }

  @Get(':id')
  @ApiOperation({ summary: 'A registered dataset' })
  @Responds(200, 'DatasetView')
  @ApiParam({ name: 'id', format: 'uuid' })
  get(@Param('id', datasetIdPipe) id: string) {
    return this.datasets.get(id);
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Delete a dataset: its registration and, for an uploaded folder, the images Trainyard stored for it; a local path or a prefix you registered is left untouched',
    description:
      'Finished runs that trained on it keep their history; none of them can run again on it (a worker refuses a run whose dataset is not registered).',
  })
  @Responds(200, 'DatasetDeletion', 'What was removed')
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiResponse({ status: 404, description: 'No such dataset (or one of another project)' })
  @ApiResponse({
    status: 409,
    description:
      'Runs not finished (queued, running or preempted) train on it: `activeRuns` counts them and names the first',
    schema: schemaRef('ProblemDetails'),
  })
  remove(@Param('id', datasetIdPipe) id: string) {
    return this.deletion.delete(id);
  }

  @Get(':id/samples/:class/:index')
  @ApiOperation({
    summary: `A sample image of a class: the index-th (0 to ${DATASET_SAMPLES_PER_CLASS - 1}) of its images by name, as stored`,
    description: `Only PNG, JPEG and WebP files (by their bytes) of at most ${DATASET_SAMPLE_MAX_BYTES} bytes are served; classes and samples are named by index, never by path.`,
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiParam({ name: 'class', description: 'Index of the class in classNames' })
  @ApiParam({ name: 'index', description: `0 to ${DATASET_SAMPLES_PER_CLASS - 1}` })
  @RespondsWithoutJson(200, 'image/png', 'The image (image/png, image/jpeg or image/webp, as its bytes say)')
  @ApiResponse({ status: 404, description: 'No such dataset, class or sample' })
  @ApiResponse({ status: 413, description: 'The file is larger than the sample limit' })
  @ApiResponse({ status: 422, description: 'The file is not a PNG, JPEG or WebP image' })
  async sample(
    @Param('id', datasetIdPipe) id: string,
    @Param('class', new ZodValidationPipe(ClassIndexSchema, 'Invalid class', { field: 'class' })) classIndex: number,
    @Param('index', new ZodValidationPipe(SampleIndexSchema, 'Invalid sample', { field: 'index' })) index: number,
    @Res() res: ServerResponse,
  ): Promise<void> {
    const { body, type } = await this.samples.sample(id, classIndex, index);
    res.writeHead(200, {
      'content-type': type,
      'content-length': body.length,
      'cache-control': 'private, max-age=300',
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  }
}

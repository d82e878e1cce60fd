import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Owned } from '../auth/auth.decorators';
import { projectFilter, projectForWrites, type Principal } from '../auth/principal';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { DatasetIdSchema, DatasetRegistrationSchema, type DatasetRegistration } from './dataset-registration.dto';
import { DatasetsService } from './datasets.service';

@ApiTags('datasets')
@Owned('dataset')
@Controller('v1/datasets')
export class DatasetsController {
  constructor(private readonly datasets: DatasetsService) {}

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
    @Body(new ZodValidationPipe(DatasetRegistrationSchema, 'Invalid dataset')) body: DatasetRegistration,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.datasets.register(body, projectForWrites(principal));
  }

  @Get()
  @ApiOperation({ summary: 'Registered datasets, newest first' })
  @Responds(200, 'DatasetList')
  list(@CurrentPrincipal() principal: Principal) {
    return this.datasets.list(projectFilter(principal));
  }

  @Get(':id')
  @ApiOperation({ summary: 'A registered dataset' })
  @Responds(200, 'DatasetView')
  @ApiParam({ name: 'id', format: 'uuid' })
  get(@Param('id', new ZodValidationPipe(DatasetIdSchema, 'Invalid dataset id', 'id')) id: string) {
    return this.datasets.get(id);
  }
}

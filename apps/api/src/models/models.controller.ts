import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  decimalInt,
  NameSchema,
  ProjectNameSchema,
  RegisteredModelRefSchema,
  type ModelList,
} from '@trainyard/contracts';
import { notFound } from '../http/problems';
import { CatalogListsRepository } from '@trainyard/db';
import { z } from 'zod';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { DEFAULT_PROJECT, projectFilter, type Principal } from '../auth/principal';
import { CatalogPageQuerySchema, type CatalogPageQueryParams } from '../catalog/catalog-page-query';
import { schemaRef } from '../openapi/openapi-schemas';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { ModelsService } from './models.service';

/** The contracts' name rule: no control characters or lone surrogates, at most 120 characters. */
/**
 * A model's name is a path segment of its routes (`/v1/models/:name/versions`), and `.` and `..`
 * are none: every URL parser (the client's, the CLI's, a browser's) resolves them away, so a
 * version registered under one could be neither read nor deleted but by hand.
 */
const ModelName = NameSchema.refine(
  (name) => name !== '.' && name !== '..',
  "'.' and '..' cannot name a model: URLs resolve them as path steps",
);
const ModelRegistrationSchema = z.strictObject({ name: ModelName, runId: z.uuid().toLowerCase() });
/** Digits only (decimalInt), within the range a spec's `model.baseModel.version` takes (read from it: one rule). */
const ModelVersion = RegisteredModelRefSchema.shape.version;
const ModelVersionNumberSchema = decimalInt({
  min: ModelVersion.minValue ?? 1,
  max: ModelVersion.maxValue ?? 1_000_000,
  what: 'a version number (1, 2, …)',
});

const modelNamePipe = new ZodValidationPipe(ModelName, 'Invalid model name', { field: 'name' });
const projectPipe = new ZodValidationPipe(ProjectNameSchema.optional(), 'Invalid project', { field: 'project' });

/**
 * The project whose model `name` a request means (names are per project): a project's key, its own
 * (another project named is the same 404 as an unknown name); an operator's, the one named, else
 * `default`.
 */
function modelProject(principal: Principal, project: string | undefined, name: string): string {
  if (principal.project !== null && project !== undefined && project !== principal.project)
    throw notFound('model', name);
  return principal.project ?? project ?? DEFAULT_PROJECT;
}

@ApiTags('models')
@Controller('v1/models')
export class ModelsController {
  constructor(
    private readonly models: ModelsService,
    private readonly lists: CatalogListsRepository,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Registered models by name, each with its version count and newest versions (the run and checkpoint of each); keyset pages',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1 to 100 (default 25)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'The nextCursor of the previous page' })
  @Responds(200, 'ModelList')
  list(
    @Query(new ZodValidationPipe(CatalogPageQuerySchema, 'Invalid query')) query: CatalogPageQueryParams,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ModelList> {
    return this.lists.models({ ...query, project: projectFilter(principal) });
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary:
      "Name a SUCCEEDED run's model: the next version of the name in the run's project, pinned to the run's best checkpoint (its latest complete one when it records no best)",
  })
  @Responds(201, 'ModelVersionRegistered', 'The new version')
  @ApiResponse({ status: 422, description: 'The run does not exist, has not SUCCEEDED, or has no complete checkpoint' })
  @ApiResponse({
    status: 409,
    description:
      'The name holds MODEL_VERSIONS_MAX_PER_NAME (1,000) versions, or has given its last version number (1,000,000): `errors` names `name`',
    schema: schemaRef('ProblemDetails'),
  })
  register(
    @Body(new ZodValidationPipe(ModelRegistrationSchema, 'Invalid model registration', { in: 'body' }))
    body: z.infer<typeof ModelRegistrationSchema>,
    @CurrentPrincipal() principal: Principal,
  ) {
    // A project's key registers its own runs; an operator's, any run, under the run's project.
    return this.models.register(body.name, body.runId, principal.project);
  }

  @Get(':name/versions')
  @ApiOperation({ summary: 'Versions of a registered model, oldest first' })
  @Responds(200, 'ModelVersions')
  @ApiParam({ name: 'name' })
  @ApiQuery({
    name: 'project',
    required: false,
    description: "The model's project (names are per project): a key's own by default, else `default`",
  })
  versions(
    @Param('name', modelNamePipe) name: string,
    @Query('project', projectPipe) project: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.models.versions(name, modelProject(principal, project, name));
  }

  @Delete(':name/versions/:version')
  @HttpCode(200)
  @ApiOperation({
    summary:
      "Delete a model version from the registry (its checkpoint belongs to its run and stays); the model's name goes with its last version",
    description:
      'Runs that fine-tuned from it keep their history and their pinned checkpoint. Once no version comes from a run (and no run builds on it), `DELETE /v1/runs/:id` may delete it.',
  })
  @Responds(200, 'ModelVersionDeletion', 'What was removed, and how many versions of the name are left')
  @ApiParam({ name: 'name' })
  @ApiParam({ name: 'version', description: 'The version number (1, 2, …)' })
  @ApiQuery({
    name: 'project',
    required: false,
    description: "The model's project (names are per project): a key's own by default, else `default`",
  })
  @ApiResponse({ status: 404, description: 'No such version (or a model of another project)' })
  @ApiResponse({
    status: 409,
    description:
      'Runs not finished (queued, running or preempted) fine-tune from it: `activeRuns` counts them and names the first',
    schema: schemaRef('ProblemDetails'),
  })
  removeVersion(
    @Param('name', modelNamePipe) name: string,
    @Param('version', new ZodValidationPipe(ModelVersionNumberSchema, 'Invalid model version', { field: 'version' }))
    version: number,
    @Query('project', projectPipe) project: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.models.deleteVersion(name, version, modelProject(principal, project, name));
  }
}

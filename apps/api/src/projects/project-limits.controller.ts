import { Body, Controller, ForbiddenException, Get, Logger, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ProjectLimitsUpdateSchema, type ProjectLimitsList, type ProjectLimitsUpdate } from '@trainyard/contracts';
import { ProjectNameSchema } from '../auth/api-keys.dto';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { notFound } from '../http/problems';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { ProjectLimitsService } from './project-limits.service';

const projectPipe = new ZodValidationPipe(ProjectNameSchema, 'Invalid project', { field: 'project' });

/**
 * A project's limits are the operator's control over it: reading them is for the project's own
 * keys too, changing them (and listing every project's) only for an admin key without a project,
 * so a project's own admin cannot lift its limit or learn other projects' names.
 */
function requireOperator(principal: Principal): void {
  if (principal.project === null) return;
  throw new ForbiddenException({
    message: "A project's limits are set by operators",
    errors: [
      {
        field: 'Authorization',
        message: `This key belongs to project ${principal.project}; an admin key without a project is required`,
      },
    ],
  });
}

@ApiTags('projects')
@Controller('v1/projects')
export class ProjectLimitsController {
  private readonly logger = new Logger(ProjectLimitsController.name);

  constructor(private readonly limits: ProjectLimitsService) {}

  @Get('limits')
  @RequireScope('admin')
  @ApiOperation({ summary: 'Every project with a limit of its own, and the default (PROJECT_MAX_RUNNING)' })
  @Responds(200, 'ProjectLimitsList')
  list(@CurrentPrincipal() principal: Principal): Promise<ProjectLimitsList> {
    requireOperator(principal);
    return this.limits.list();
  }

  @Get(':project/limits')
  @ApiOperation({ summary: "A project's limit on runs training at once, where it comes from, and its load" })
  @ApiParam({ name: 'project' })
  @Responds(200, 'ProjectLimitsView')
  get(@Param('project', projectPipe) project: string, @CurrentPrincipal() principal: Principal) {
    // Another project is the same 404 as an unknown resource elsewhere: nothing about it shows.
    if (principal.project !== null && principal.project !== project) throw notFound('project', project);
    return this.limits.get(project);
  }

  @Put(':project/limits')
  @RequireScope('admin')
  @ApiOperation({
    summary:
      "Set a project's own limit on runs training at once (null: back to PROJECT_MAX_RUNNING); parked runs that now have a place go back in line",
  })
  @ApiParam({ name: 'project' })
  @Responds(200, 'ProjectLimitsView', 'The project with its new limit')
  async set(
    @Param('project', projectPipe) project: string,
    @Body(new ZodValidationPipe(ProjectLimitsUpdateSchema, 'Invalid limits', { in: 'body' })) body: ProjectLimitsUpdate,
    @CurrentPrincipal() principal: Principal,
  ) {
    requireOperator(principal);
    const view = await this.limits.set(project, body.maxRunning);
    this.logger.log(
      `project ${project}: maxRunning ${body.maxRunning ?? 'removed (the default applies)'}, set by key ${principal.keyId}`,
    );
    return view;
  }
}

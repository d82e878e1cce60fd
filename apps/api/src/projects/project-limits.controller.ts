import { Body, Controller, Get, Logger, Param, Patch } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import {
  ProjectLimitsUpdateSchema,
  ProjectNameSchema,
  type ProjectLimitsList,
  type ProjectLimitsUpdate,
} from '@trainyard/contracts';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { requireOperator } from '../auth/require-operator';
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
@ApiTags('projects')
@Controller('v1/projects')
export class ProjectLimitsController {
  private readonly logger = new Logger(ProjectLimitsController.name);

  constructor(private readonly limits: ProjectLimitsService) {}

  @Get('limits')
  @RequireScope('admin')
  @ApiOperation({
    summary:
      'Every project with limits of its own, and the defaults (PROJECT_MAX_RUNNING, QUOTA_QUEUED_RUNS, QUOTA_MAX_PRIORITY)',
  })
  @Responds(200, 'ProjectLimitsList')
  list(@CurrentPrincipal() principal: Principal): Promise<ProjectLimitsList> {
    requireOperator(principal, "Listing every project's limits");
    return this.limits.list();
  }

  @Get(':project/limits')
  @ApiOperation({
    summary:
      "A project's limits on runs training and waiting at once and on the priority its specs may name, where they come from, and its load",
  })
  @ApiParam({ name: 'project' })
  @Responds(200, 'ProjectLimitsView')
  get(@Param('project', projectPipe) project: string, @CurrentPrincipal() principal: Principal) {
    // Another project is the same 404 as an unknown resource elsewhere: nothing about it shows.
    if (principal.project !== null && principal.project !== project) throw notFound('project', project);
    return this.limits.get(project);
  }

  @Patch(':project/limits')
  @RequireScope('admin')
  @ApiOperation({
    summary:
      "Change a project's own limits: runs training at once (maxRunning), waiting at once (maxQueued), the highest priority its specs may name (maxPriority); null: back to the default, left out: as it is. Parked runs that now have a place go back in line",
  })
  @ApiParam({ name: 'project' })
  @Responds(200, 'ProjectLimitsView', 'The project with its limits')
  async set(
    @Param('project', projectPipe) project: string,
    @Body(new ZodValidationPipe(ProjectLimitsUpdateSchema, 'Invalid limits', { in: 'body' })) body: ProjectLimitsUpdate,
    @CurrentPrincipal() principal: Principal,
  ) {
    requireOperator(principal, "Setting a project's limits");
    const view = await this.limits.set(project, body);
    const said = (value: number | null | undefined) =>
      value === undefined ? 'unchanged' : value === null ? 'the default' : String(value);
    this.logger.log(
      `project ${project}: maxRunning ${said(body.maxRunning)}, maxQueued ${said(body.maxQueued)}, maxPriority ${said(body.maxPriority)}, set by key ${principal.keyId}`,
    );
    return view;
  }
}

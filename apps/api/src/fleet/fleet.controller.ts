import { Body, Controller, Delete, Get, HttpCode, Logger, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DRAIN_MODES } from '@trainyard/contracts';
import { z } from 'zod';
import { CurrentPrincipal, RequireScope } from '../auth/auth.decorators';
import { projectFilter, type Principal } from '../auth/principal';
import { requireOperator } from '../auth/require-operator';
import { Responds } from '../openapi/response-contract';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';
import { FleetService } from './fleet.service';

/** Worker ids are `<hostname>-<pid>-<8 hex>`; anything else cannot name a worker. */
const WorkerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/, 'Expected a worker id (letters, digits, ".", "_", "-")');
/** The body is optional: a bare POST drains with `preempt`. */
const DrainSchema = z
  .strictObject({
    /** `preempt` (default): checkpoint the held runs now, back to the queue for another worker; `finish`: let them end here. */
    mode: z.enum(DRAIN_MODES).default('preempt'),
  })
  .optional();
const workerIdPipe = new ZodValidationPipe(WorkerIdSchema, 'Invalid worker id', { field: 'id' });

@ApiTags('fleet')
@Controller('v1')
export class FleetController {
  private readonly logger = new Logger(FleetController.name);

  constructor(private readonly fleet: FleetService) {}

  @Get('queues')
  @ApiOperation({
    summary:
      "Training queue depth by job state, and the jobs being trained now (a project's key sees its project's jobs only)",
  })
  @Responds(200, 'QueueList')
  queues(@CurrentPrincipal() principal: Principal) {
    return this.fleet.queues(projectFilter(principal));
  }

  @Get('workers')
  @ApiOperation({
    summary:
      "Registered workers: backend, GPU, heartbeat, alive/draining/drained/lost/stopped, the runs each is training (a project's key sees its project's runs only)",
  })
  @Responds(200, 'WorkerList')
  workers(@CurrentPrincipal() principal: Principal) {
    return this.fleet.workers(projectFilter(principal));
  }

  @Post('workers/:id/drain')
  @HttpCode(202)
  @RequireScope('admin')
  @ApiOperation({
    summary:
      'Drain a worker (an operator\'s admin key): it takes no new jobs and preempts its runs (checkpoint, back to the queue; mode "finish" lets them end), then reports "drained"',
  })
  @ApiParam({ name: 'id' })
  @Responds(202, 'WorkerView', 'The worker, draining')
  @ApiResponse({ status: 404, description: 'No such worker' })
  @ApiResponse({
    status: 409,
    description: 'The worker is lost or stopped (`workerState` says which): no drain can reach it; nothing was changed',
  })
  async drain(
    @Param('id', workerIdPipe) id: string,
    @Body(new ZodValidationPipe(DrainSchema, 'Invalid drain request', { in: 'body' }))
    body: z.output<typeof DrainSchema>,
    @CurrentPrincipal() principal: Principal,
  ) {
    requireOperator(principal, 'Draining a worker');
    const mode = body?.mode ?? 'preempt';
    const worker = await this.fleet.drain(id, mode);
    this.logger.log(`worker ${id}: drain (${mode}) requested by key ${principal.keyId}`);
    return worker;
  }

  @Delete('workers/:id/drain')
  @RequireScope('admin')
  @ApiOperation({ summary: 'Take a drain back: the worker consumes again at its next heartbeat' })
  @ApiParam({ name: 'id' })
  @Responds(200, 'WorkerView', 'The worker, alive again at its next heartbeat')
  @ApiResponse({ status: 404, description: 'No such worker' })
  @ApiResponse({ status: 409, description: 'The worker is stopped (`workerState`); nothing was changed' })
  async undrain(@Param('id', workerIdPipe) id: string, @CurrentPrincipal() principal: Principal) {
    requireOperator(principal, 'Taking a drain back');
    const worker = await this.fleet.undrain(id);
    this.logger.log(`worker ${id}: drain taken back by key ${principal.keyId}`);
    return worker;
  }
}

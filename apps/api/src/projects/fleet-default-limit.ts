import { Inject, Injectable } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { WorkersRepository } from '@trainyard/db';
import { CONFIG } from '@trainyard/infrastructure';

/** What holds a project without a limit of its own, and what the live workers say about it. */
export interface FleetDefaultLimit {
  defaultMaxRunning: number | null;
  workersMaxRunning: (number | null)[];
}

/**
 * The default of projects without a limit of their own: the API's PROJECT_MAX_RUNNING when it has
 * one, else the value every live worker applies; null when no worker limits or they disagree.
 */
export function fleetDefaultMaxRunning(
  apiSetting: number | undefined,
  workersMaxRunning: readonly (number | null)[],
): number | null {
  if (apiSetting !== undefined) return apiSetting;
  return workersMaxRunning.length === 1 ? workersMaxRunning[0]! : null;
}

/** Reads the live workers' PROJECT_MAX_RUNNING (one query) and resolves the default with the API's own. */
@Injectable()
export class FleetDefaultLimitReader {
  constructor(
    @Inject(CONFIG) private readonly config: TrainyardConfig,
    private readonly workers: WorkersRepository,
  ) {}

  async read(): Promise<FleetDefaultLimit> {
    const workersMaxRunning = await this.workers.liveProjectMaxRunning(this.config.worker.lostAfterMs);
    return {
      defaultMaxRunning: fleetDefaultMaxRunning(this.config.limits.runningRunsPerProject, workersMaxRunning),
      workersMaxRunning,
    };
  }
}

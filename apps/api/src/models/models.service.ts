import { ConflictException, Injectable, Logger, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import {
  MODEL_VERSION_MAX,
  MODEL_VERSIONS_MAX_PER_NAME,
  type ModelVersionDeletion,
  type ModelVersionRegistered,
  type ModelVersions,
} from '@trainyard/contracts';
import { CheckpointsRepository, ModelVersionsRepository, RunsRepository } from '@trainyard/db';
import { inUseByRuns } from '../common/in-use-conflict';

/** A 409 naming `name`: the name can take no version more (the project's other names can). */
function nameAtItsLimit(message: string): ConflictException {
  return new ConflictException({ message, errors: [{ field: 'name', message }] });
}

function refuse(why: string): UnprocessableEntityException {
  return new UnprocessableEntityException({
    message: 'The run cannot be registered as a model',
    errors: [{ field: 'runId', message: why }],
  });
}

/**
 * The model registry: a name's versions, each a SUCCEEDED run's best checkpoint (its latest
 * COMPLETE one when its result records no best) at registration (pinned, so retention keeps it). A fine-tune spec uses one as its base with
 * `model.baseModel: { name, version }`.
 */
@Injectable()
export class ModelsService {
  private readonly logger = new Logger(ModelsService.name);

  constructor(
    private readonly runs: RunsRepository,
    private readonly checkpoints: CheckpointsRepository,
    private readonly models: ModelVersionsRepository,
  ) {}

  /**
   * Names are per project: the version goes to the run's project. With `project` (a project's
   * key), only that project's runs can be registered; null (an operator's key) takes any run.
   */
  async register(name: string, runId: string, project: string | null): Promise<ModelVersionRegistered> {
    const run = await this.runs.get(runId);
    if (!run || (project !== null && run.project !== project)) throw refuse(`No run with id ${runId}`);
    if (run.kind === 'EVALUATE') throw refuse(`Run ${runId} is an EVALUATE run; it trained no model`);
    if (run.status !== 'SUCCEEDED')
      throw refuse(`Run ${runId} is ${run.status}; only a SUCCEEDED run's model can be registered`);
    // The run's best checkpoint when its result records one, else its latest (chosenCheckpoint).
    const picked = await this.checkpoints.chosen(run);
    if (!picked) throw refuse(`Run ${runId} has no complete checkpoint`);
    const { checkpoint } = picked;
    const registered = await this.models.register({ name, project: run.project, runId, checkpointId: checkpoint.id });
    if (registered.outcome === 'full')
      throw nameAtItsLimit(
        `Model "${name}" holds ${registered.versions} versions, the most one name may hold (${MODEL_VERSIONS_MAX_PER_NAME}): delete old ones (DELETE /v1/models/:name/versions/:version) or register under another name`,
      );
    if (registered.outcome === 'numbers-spent')
      throw nameAtItsLimit(
        `Model "${name}" has given every version number up to ${MODEL_VERSION_MAX}, the last a spec can name: register under another name`,
      );
    const { version } = registered;
    this.logger.log(
      `Model "${name}" v${version.version} = run ${runId} checkpoint #${checkpoint.sequence} (its ${picked.chosen})`,
    );
    return { ...version, checkpointSequence: checkpoint.sequence, models: checkpoint.models };
  }

  async versions(name: string, project: string): Promise<ModelVersions> {
    const versions = await this.models.versions(name, project);
    if (versions.length === 0) throw new NotFoundException({ message: `No model named "${name}"` });
    return { name, versions };
  }

  /**
   * Removes a version from the registry, refused (409) while unfinished runs fine-tune from it. Its
   * checkpoint stays with its run, no longer pinned by the version; the name goes with its last
   * version (there is nothing else to a name), so a mistyped one is removed this way.
   */
  async deleteVersion(name: string, version: number, project: string): Promise<ModelVersionDeletion> {
    const outcome = await this.models.delete(project, name, version);
    if (outcome.outcome === 'not-found')
      throw new NotFoundException({ message: `No version ${version} of model "${name}"` });
    const what = `Version ${version} of model "${name}"`;
    if (outcome.outcome === 'in-use') throw inUseByRuns(what, 'version', outcome.activeRuns);
    const { outcome: _deleted, ...deleted } = outcome;
    this.logger.log(
      `${what} (project ${project}) deleted: run ${deleted.runId} checkpoint ${deleted.checkpointId}; ${deleted.remainingVersions} versions left`,
    );
    return deleted;
  }
}

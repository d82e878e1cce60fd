import { Inject, Injectable, Logger } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import type { DatasetDeletion, DatasetLocation } from '@trainyard/contracts';
import { DatasetsRepository, type DatasetDeletionReads } from '@trainyard/db';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';
import { isUploadFolder, removePackedVersionsOf, walkLimitsOf, type ObjectStore } from '@trainyard/storage';
import { inUseByRuns } from '../common/in-use-conflict';
import { objectsToRemove, removeObjects } from '../common/stored-objects-removal';
import { notFound } from '../http/problems';

/**
 * The folder of the store Trainyard itself wrote for the dataset, which goes with it: an upload's
 * own (`datasets/uploads/<uuid>/`, DatasetUploadService). A local path or a prefix someone
 * registered holds their own files, which are never touched: null.
 */
function storedFolderOf(location: DatasetLocation): string | null {
  return location.kind === 's3' && isUploadFolder(location.prefix) ? location.prefix : null;
}

/**
 * `DELETE /v1/datasets/:id`: the registration, and the images an upload stored. Refused (409)
 * while unfinished runs name the dataset; finished ones keep their history (their spec names the
 * id, and nothing can start them again: a worker refuses a run whose dataset is not registered).
 */
@Injectable()
export class DatasetDeletionService {
  private readonly logger = new Logger(DatasetDeletionService.name);

  constructor(
    private readonly datasets: DatasetsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async delete(id: string): Promise<DatasetDeletion> {
    const outcome = await this.datasets.delete(id, (dataset, within) =>
      this.removeStoredFolder(id, dataset.location, within),
    );
    if (outcome.outcome === 'not-found') throw notFound('dataset', id);
    if (outcome.outcome === 'in-use') throw inUseByRuns(`Dataset ${id}`, 'id', outcome.activeRuns);
    const { dataset, finishedRuns, removed } = outcome;
    this.logger.log(
      `Dataset ${id} "${dataset.name}" deleted (${dataset.uri}): ${removed ? `${removed.count} stored objects removed` : 'its folder left as it is'}, ${finishedRuns} finished runs named it`,
    );
    return { datasetId: id, name: dataset.name, location: dataset.location, objects: removed, finishedRuns };
  }

  /** The objects of the folder Trainyard stored for the dataset, removed; null when it has none. */
  private async removeStoredFolder(
    id: string,
    location: DatasetLocation,
    within: DatasetDeletionReads,
  ): Promise<DatasetDeletion['objects']> {
    const folder = storedFolderOf(location);
    if (folder === null || (await within.prefixShared(folder))) return null;
    const stored = await objectsToRemove(this.store, folder, walkLimitsOf(this.config.paths), `Dataset ${id}`);
    await removeObjects(this.store, stored);
    // No dataset can name the upload's folder again, so no run could stream what was packed from it.
    const packed = await removePackedVersionsOf(this.store, this.store.uri(folder));
    return {
      prefix: this.store.uri(folder),
      count: stored.length,
      bytes: stored.reduce((sum, o) => sum + o.size, 0),
      packedVersions: packed.versions,
    };
  }
}

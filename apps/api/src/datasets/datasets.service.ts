import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ConflictException, Inject, Injectable, Logger, UnprocessableEntityException } from '@nestjs/common';
import { localRootsFor, type TrainyardConfig } from '@trainyard/config';
import { DATASET_MAX_CLASSES, type DatasetList, type DatasetLocation, type DatasetView } from '@trainyard/contracts';
import {
  DatasetFolderTakenError,
  DatasetNameTakenError,
  DatasetsRepository,
  type CatalogPageQuery,
} from '@trainyard/db';
import {
  FolderWalkLimitError,
  InvalidImageFolderError,
  internalPathProblem,
  internalPrefixProblem,
  InvalidObjectKeyError,
  isUploadFolder,
  LocalObjectStore,
  LocalPathRefusedError,
  normalizeObjectPrefix,
  resolveUnderRoots,
  scanImageFolder,
  storeFolderTwin,
  walkLimitsOf,
  type ObjectStore,
} from '@trainyard/storage';
import type { DatasetRegistration } from './dataset-registration.dto';
import { notFound } from '../http/problems';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';

function refuse(field: string, why: string): UnprocessableEntityException {
  return new UnprocessableEntityException({
    message: 'The folder cannot be registered as a dataset',
    errors: [{ field, message: why }],
  });
}

/** 409: the folder is, holds or lies in one another project registered (DatasetsRepository.create). */
function folderTaken(location: DatasetLocation): ConflictException {
  const field = location.kind === 'local' ? 'location.path' : 'location.prefix';
  const message = new DatasetFolderTakenError(field).message;
  return new ConflictException({
    message: `The folder cannot be registered as a dataset: it ${message}`,
    errors: [{ field, message }],
  });
}

/**
 * Registers image folders. The layout (class subfolders, ≥ 2 classes, no empty class) is checked
 * here by listing only — the API never decodes images; corrupt files are found, skipped and
 * listed by the run that loads the folder.
 */
@Injectable()
export class DatasetsService {
  private readonly logger = new Logger(DatasetsService.name);

  constructor(
    private readonly datasets: DatasetsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async register(body: DatasetRegistration, project: string): Promise<DatasetView> {
    const opened = await this.open(body.location, project);
    // Before anything is listed: a 422 naming the classes would show another project's folders.
    for (const location of await this.namesOf(opened.location))
      if (await this.datasets.folderTaken(location, project)) throw folderTaken(opened.location);
    return this.record(body.name, opened, project);
  }

  /**
   * The folder an upload stored (`datasets/uploads/<uuid>/`, DatasetUploadService): the one way a
   * dataset comes to live under a prefix Trainyard writes, which `register` refuses.
   */
  async registerUpload(name: string, prefix: string, project: string, bytes: number): Promise<DatasetView> {
    if (!isUploadFolder(prefix)) throw new Error(`${prefix} is not the folder of one upload`);
    return this.record(name, { store: this.store, prefix, location: { kind: 's3', prefix } }, project, bytes);
  }

  private async record(
    name: string,
    { store, prefix, location }: { store: ObjectStore; prefix: string; location: DatasetLocation },
    project: string,
    uploadedBytes: number | null = null,
  ): Promise<DatasetView> {
    let scan;
    try {
      scan = await scanImageFolder(store, prefix, walkLimitsOf(this.config.paths));
    } catch (error) {
      if (error instanceof InvalidImageFolderError) throw refuse('location', `${error.folder}: ${error.reason}`);
      if (error instanceof FolderWalkLimitError) throw refuse('location', error.message);
      throw error;
    }
    if (scan.classNames.length > DATASET_MAX_CLASSES)
      throw refuse(
        'location',
        `${scan.folder}: it has ${scan.classNames.length} class folders; a dataset may have at most ${DATASET_MAX_CLASSES}`,
      );
    try {
      const [, ...sameFolder] = await this.namesOf(location);
      const record = await this.datasets.create(
        {
          project,
          id: randomUUID(),
          name,
          location,
          uri: scan.folder,
          classNames: scan.classNames,
          counts: scan.counts,
          uploadedBytes,
        },
        sameFolder,
      );
      this.logger.log(
        `Dataset ${record.id} "${record.name}" registered: ${scan.folder}, ${scan.classNames.length} classes, ${scan.files.length} images`,
      );
      return record;
    } catch (error) {
      if (error instanceof DatasetFolderTakenError) throw folderTaken(location);
      if (error instanceof DatasetNameTakenError) {
        throw new ConflictException({
          message: error.message,
          errors: [{ field: 'name', message: error.message }],
        });
      }
      throw error;
    }
  }

  /** The location, then the same folder as the other kind names it where the store is local (storeFolderTwin). */
  private async namesOf(location: DatasetLocation): Promise<DatasetLocation[]> {
    const twin = await storeFolderTwin(location, this.store);
    return twin ? [location, twin] : [location];
  }

  /** A page of the datasets `project` may read (every project's when undefined), newest first. */
  list(query: CatalogPageQuery): Promise<DatasetList> {
    return this.datasets.list(query);
  }

  async get(id: string): Promise<DatasetView> {
    const record = await this.datasets.get(id);
    if (!record) throw notFound('dataset', id);
    return record;
  }

  /**
   * A local folder is read as a store of its own, and only under TRAINYARD_LOCAL_ROOTS: its real
   * path (symlinks resolved) is what is recorded and what the workers read. Outside the roots
   * nothing is looked at, so the answer says nothing about what is there. An S3 prefix lives in
   * the configured store. Neither may be in or hold a folder Trainyard writes for every project
   * (runs/, uploads, packed versions), checked before anything is listed.
   */
  private async open(
    location: DatasetRegistration['location'],
    project: string,
  ): Promise<{ store: ObjectStore; prefix: string; location: DatasetLocation }> {
    if (location.kind === 's3') {
      let prefix: string;
      try {
        prefix = normalizeObjectPrefix(location.prefix);
      } catch (error) {
        if (error instanceof InvalidObjectKeyError)
          throw refuse('location.prefix', `not a folder of the object store: ${error.reason}`);
        throw error;
      }
      // Before anything is listed: a 422 naming the classes of runs/ would list every project's runs.
      const internal = internalPrefixProblem(prefix);
      if (internal) throw refuse('location.prefix', `expected a folder of your own: it ${internal}`);
      return { store: this.store, prefix, location: { kind: 's3', prefix } };
    }
    let path: string;
    try {
      path = await resolveUnderRoots(location.path, localRootsFor(this.config.paths, project));
    } catch (error) {
      if (error instanceof LocalPathRefusedError) throw refuse('location.path', error.message);
      throw error;
    }
    const info = await stat(path).catch(() => null);
    if (!info?.isDirectory()) throw refuse('location.path', 'is not a folder this server can read');
    const internal = await internalPathProblem(path, this.store);
    if (internal) throw refuse('location.path', `expected a folder of your own: it ${internal}`);
    return { store: new LocalObjectStore(path), prefix: '', location: { kind: 'local', path } };
  }
}

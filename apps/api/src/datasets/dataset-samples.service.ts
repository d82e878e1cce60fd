import { join, relative, isAbsolute, sep } from 'node:path';
import { realpath } from 'node:fs/promises';
import {
  Inject,
  Injectable,
  NotFoundException,
  PayloadTooLargeException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { localRootsFor, type TrainyardConfig } from '@trainyard/config';
import type { DatasetView } from '@trainyard/contracts';
import { DatasetsRepository } from '@trainyard/db';
import { CONFIG, OBJECT_STORE } from '@trainyard/infrastructure';
import {
  imageNameProblem,
  isFolderImage,
  LocalObjectStore,
  LocalPathRefusedError,
  FolderWalkLimitError,
  internalPathProblem,
  ObjectNotFoundError,
  prefixProblem,
  recordedDatasetPrefixProblem,
  resolveUnderRoots,
  walkLimitsOf,
  sniffImageType,
  type ImageType,
  type ObjectStore,
} from '@trainyard/storage';
import { notFound } from '../http/problems';
import {
  DATASET_SAMPLE_MAX_BYTES,
  DATASET_SAMPLES_PER_CLASS,
  readBounded,
  SampleTooLargeError,
} from './dataset-samples';

/** Listings of a class folder are kept this long, so a page of thumbnails lists each class once. */
const LISTING_TTL_MS = 60_000;
const LISTING_CACHE_ENTRIES = 256;

export interface DatasetSample {
  body: Buffer;
  type: ImageType;
}

/**
 * Sample images of a registered dataset. The client names a class by its index in the dataset's
 * recorded class names and a sample by its index (< DATASET_SAMPLES_PER_CLASS) among that class's
 * images, sorted by key: no name or path the client sends ever reaches the store. The key served
 * is one the store itself listed under the dataset's folder; a local folder is re-checked against
 * TRAINYARD_LOCAL_ROOTS and the file's real path must lie inside it (no symlink out). At most
 * DATASET_SAMPLE_MAX_BYTES are read, and only PNG, JPEG and WebP (by their bytes) are answered.
 */
@Injectable()
export class DatasetSamplesService {
  private readonly listings = new Map<string, { at: number; keys: string[] }>();

  constructor(
    private readonly datasets: DatasetsRepository,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CONFIG) private readonly config: TrainyardConfig,
  ) {}

  async sample(id: string, classIndex: number, index: number): Promise<DatasetSample> {
    const dataset = await this.datasets.get(id);
    if (!dataset) throw notFound('dataset', id);
    const className = dataset.classNames[classIndex];
    if (className === undefined) throw this.missing(`Dataset ${id} has ${dataset.classNames.length} classes`);
    // Recorded from the folder's own listing; checked again so a bad row cannot name another folder.
    if (className.includes('/') || prefixProblem(`${className}/`) !== null)
      throw new UnprocessableEntityException({
        message: `Class ${classIndex} of dataset ${id} has a name that is not a folder name`,
      });
    const { store, prefix, root } = await this.open(dataset);
    const keys = await this.classKeys(dataset, store, prefix, className);
    const key = keys[index];
    if (key === undefined)
      throw this.missing(`Class "${className}" of dataset ${id} has no sample #${index} (it shows ${keys.length})`);
    if (root !== null) await this.insideRoot(root, key);
    let body: Buffer;
    try {
      body = await readBounded((await store.getStream(key)).body, DATASET_SAMPLE_MAX_BYTES);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw this.missing(`Sample #${index} of "${className}" is gone`);
      if (error instanceof SampleTooLargeError)
        throw new PayloadTooLargeException({
          message: `Sample #${index} of "${className}" is larger than ${DATASET_SAMPLE_MAX_BYTES} bytes; it is not served`,
        });
      throw error;
    }
    const type = sniffImageType(body.subarray(0, 16));
    if (!type)
      throw new UnprocessableEntityException({
        message: `Sample #${index} of "${className}" is not a PNG, JPEG or WebP image`,
      });
    return { body, type };
  }

  private missing(message: string): NotFoundException {
    return new NotFoundException({ message });
  }

  /**
   * The store and folder of a dataset: the configured store for S3, its own folder (still under the
   * roots) for a local one. A row naming a folder Trainyard writes for every project (registered
   * before registrations refused them) is served nothing.
   */
  private async open(dataset: DatasetView): Promise<{ store: ObjectStore; prefix: string; root: string | null }> {
    if (dataset.location.kind === 's3') {
      const prefix = dataset.location.prefix;
      if (prefixProblem(prefix) !== null || !prefix.endsWith('/') || recordedDatasetPrefixProblem(prefix) !== null)
        throw this.missing(`Dataset ${dataset.id} has no readable folder`);
      return { store: this.store, prefix, root: null };
    }
    let root: string;
    try {
      root = await resolveUnderRoots(dataset.location.path, localRootsFor(this.config.paths, dataset.project));
    } catch (error) {
      // The roots may have changed since registration: the folder is no longer this server's to read.
      if (error instanceof LocalPathRefusedError) throw this.missing(`Dataset ${dataset.id}: ${error.message}`);
      throw error;
    }
    if ((await internalPathProblem(root, this.store)) !== null)
      throw this.missing(`Dataset ${dataset.id} has no readable folder`);
    return { store: new LocalObjectStore(root), prefix: '', root };
  }

  /**
   * The first DATASET_SAMPLES_PER_CLASS image keys of a class folder, by key (listed once a minute
   * at most): the images a load reads, so not one whose name no image may have (imageNameProblem).
   */
  private async classKeys(
    dataset: DatasetView,
    store: ObjectStore,
    prefix: string,
    className: string,
  ): Promise<string[]> {
    const folder = `${prefix}${className}/`;
    const cacheKey = `${dataset.id}\0${folder}`;
    const cached = this.listings.get(cacheKey);
    if (cached && Date.now() - cached.at < LISTING_TTL_MS) return cached.keys;
    let listed;
    try {
      listed = await store.list(folder, walkLimitsOf(this.config.paths));
    } catch (error) {
      if (error instanceof FolderWalkLimitError)
        throw new UnprocessableEntityException({
          message: error.message,
        });
      throw error;
    }
    const keys = listed
      .map((o) => o.key)
      .filter(
        (key) =>
          !key.endsWith('/') &&
          isFolderImage(key.slice(folder.length)) &&
          imageNameProblem(key.slice(prefix.length)) === null,
      )
      .sort()
      .slice(0, DATASET_SAMPLES_PER_CLASS);
    if (this.listings.size >= LISTING_CACHE_ENTRIES) this.listings.delete(this.listings.keys().next().value!);
    this.listings.set(cacheKey, { at: Date.now(), keys });
    return keys;
  }

  /** The file's real path lies inside the dataset's folder (a symlink swapped in since the listing is refused). */
  private async insideRoot(root: string, key: string): Promise<void> {
    const real = await realpath(join(root, key)).catch(() => null);
    const rel = real === null ? null : relative(root, real);
    if (rel === null || rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
      throw this.missing("The sample is not inside its dataset's folder");
  }
}

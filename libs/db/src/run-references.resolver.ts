import { localRootsFor } from '@trainyard/config';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import {
  autoencoderInputShape,
  classifierBase,
  datasetImageShape,
  DatasetSpecSchema,
  evaluationDatasetProblem,
  type DatasetLocation,
  type DatasetView,
  type BaseRunSpec,
  type PretrainSpec,
  type RegisteredModelRef,
  inferTopology,
  type RunSpec,
  RunSpecSchema,
  quoteText,
  sameShape,
  specTopologies,
  text,
  textProblem,
  withBaseArchitecture,
} from '@trainyard/contracts';
import {
  internalPathProblem,
  LocalObjectStore,
  LocalPathRefusedError,
  locateModelFile,
  modelFolderOfKey,
  ModelUriRefusedError,
  ObjectNotFoundError,
  packedManifestKey,
  recordedDatasetPrefixProblem,
  resolveUnderRoots,
  storeFolderTwin,
  type ObjectStore,
  isTransientStorageError,
} from '@trainyard/storage';
import { z } from 'zod';
import { bestCheckpointSequence, chosenCheckpoint } from './checkpoint-choice';
import { CheckpointsRepository } from './checkpoints.repository';
import { DatasetsRepository } from './datasets.repository';
import { RunReferenceRefusedError } from './errors';
import type { PrismaClient } from './generated/prisma/client';
import type { Checkpoint, Run } from './model-types';
import { ModelVersionsRepository } from './model-versions.repository';
import { RunsRepository } from './runs.repository';

/** The model of a checkpoint a run starts from or evaluates. */
export type BaseModel = 'encoder' | 'classifier';

/** What a spec builds on: a checkpoint that some field of it names, or nothing (pretrain, scratch, imported). */
type BaseReference =
  | { kind: 'none' }
  | { kind: 'run'; runId: string }
  | { kind: 'registered'; model: RegisteredModelRef }
  | { kind: 'evaluated'; runId: string; sequence: number | undefined };

/**
 * The models a referenced checkpoint may give, in order of preference: a fine-tune builds on a
 * pretrain run's encoder, or on a registered model's (a pretrain's encoder or a fine-tune's
 * classifier); an evaluation reads a classifier. Pipelines pin by the same rule when they release
 * a step (PipelinesRepository).
 */
const MODELS_OF: Record<Exclude<BaseReference['kind'], 'none'>, BaseModel[]> = {
  run: ['encoder'],
  registered: ['encoder', 'classifier'],
  evaluated: ['classifier'],
};

function baseOf(spec: RunSpec): BaseReference {
  if (spec.kind === 'evaluate')
    return { kind: 'evaluated', runId: spec.checkpoint.runId, sequence: spec.checkpoint.sequence };
  if (spec.kind === 'pretrain') return { kind: 'none' };
  const base = classifierBase(spec.model);
  if (base.kind === 'run') return { kind: 'run', runId: base.runId };
  if (base.kind === 'registered') return { kind: 'registered', model: base.model };
  return { kind: 'none' };
}

/** The first model of `wanted` the checkpoint holds, if it is COMPLETE. */
function usableModel(checkpoint: Checkpoint | null, wanted: BaseModel[]): BaseModel | undefined {
  if (checkpoint?.status !== 'COMPLETE') return undefined;
  return wanted.find((model) => checkpoint.models.includes(model));
}

/** Why a COMPLETE checkpoint gives none of `wanted`: "holds no classifier (it has: autoencoder, encoder)". */
function lacks(checkpoint: Checkpoint, wanted: BaseModel[]): string {
  const what =
    wanted.length === 1
      ? `no ${wanted[0]}`
      : `neither ${wanted.map((m) => (m === 'encoder' ? 'an encoder' : 'a classifier')).join(' nor ')}`;
  return `(#${checkpoint.sequence}) holds ${what} (it has: ${checkpoint.models.join(', ') || 'nothing'})`;
}

/** Where the process that resolves may read files: its object store, and local paths only under its roots. */
export interface ReadableFiles {
  store: ObjectStore;
  localRoots: string[];
  /** The roots that are one project's own, by path (TRAINYARD_LOCAL_ROOTS `project=/path`): no other project reads under them. */
  rootProjects?: Record<string, string>;
}

/** A spec with every reference checked at submit, and the run/checkpoint it builds on (pinned against retention). */
export interface SubmittedReferences {
  spec: RunSpec;
  baseRunId: string | null;
  baseCheckpointId: string | null;
  /**
   * The base run's spec, read and parsed once here (a fine-tune on a base run, a pretrain, or on
   * a registered version's run, a pretrain or a fine-tune; null otherwise, or when its stored spec
   * no longer reads): what the training-memory estimate sizes the fine-tune by
   * (trainingMemoryOnBase), so the placement check does not read the base again.
   */
  baseSpec: BaseRunSpec | null;
  /**
   * Images the spec's image folder holds (null for built-in datasets): what quotas count. The
   * registered folder's count, or with `dataset.stream` the packed version's own (what it trains on).
   */
  folderImages: number | null;
  /** Classes of the same folder or version (null for built-in datasets). */
  folderClasses: number | null;
}

type PinnedBase = Omit<SubmittedReferences, 'folderImages' | 'folderClasses'>;

/**
 * The fields of a packed version's manifest (libs/datasets' PackedManifestSchema, which the API
 * may not load) that references need; the training process reads and checks the rest.
 */
const PackedVersionHeadSchema = z.object({
  /** `store.uri(prefix)` of the folder it was packed from. */
  source: z.string(),
  // Checked as the training process checks them (text: no control or bidi characters), so a crafted manifest is refused here.
  classNames: z.array(text({ max: 1024, trim: false })).min(2),
  images: z.int().min(0),
});
type PackedVersionHead = z.infer<typeof PackedVersionHeadSchema>;

/** Manifests' heads a resolver keeps (a few dozen bytes each). */
const VERSIONS_KEPT = 256;

/** A manifest in the store that is not the version it is named after, or no manifest. */
class UnreadablePackedVersionError extends Error {}

/**
 * The most of a manifest kept to parse its head: the packer writes format, source, classNames and
 * images before the shards, which list every image (~70 bytes each).
 */
const HEAD_MAX_BYTES = 4 * 2 ** 20;
/** Where the head ends: a `"` outside a string is always a delimiter, so no value can hold this. */
const SHARDS_KEY = Buffer.from(',"shards":');

/** A manifest whose body broke off mid-way (a reset connection) is read again, as ObjectStore.get would. */
const MANIFEST_READ_TRIES = 3;

/** Every byte of the manifest at `key` hashed, and its head (the bytes before its shards) kept; null when not found early. */
async function digestManifest(store: ObjectStore, key: string): Promise<{ sha256: string; head: Buffer | null }> {
  for (let attempt = 1; ; attempt++) {
    // Opening is retried by the store; a failure mid-body is retried here.
    const { body } = await store.getStream(key);
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let headBytes = -1;
    // The last bytes kept, fewer than the key's: the key may straddle two chunks. Each chunk is
    // searched once, with them before it (not everything kept, again at every chunk).
    let tail = Buffer.alloc(0);
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        hash.update(chunk);
        if (headBytes !== -1 || keptBytes >= HEAD_MAX_BYTES) continue;
        const window = Buffer.concat([tail, chunk]);
        const at = window.indexOf(SHARDS_KEY);
        if (at !== -1) headBytes = keptBytes - tail.length + at;
        kept.push(chunk);
        keptBytes += chunk.length;
        tail = Buffer.from(window.subarray(Math.max(0, window.length - (SHARDS_KEY.length - 1))));
      }
      return { sha256: hash.digest('hex'), head: headBytes === -1 ? null : Buffer.concat(kept).subarray(0, headBytes) };
    } catch (error) {
      if (attempt >= MANIFEST_READ_TRIES || !isTransientStorageError(error)) throw error;
    } finally {
      body.destroy();
    }
  }
}

/**
 * A version's head, its manifest streamed: every byte hashed (the version is the sha256 of them
 * all), only the head kept and parsed. Reading the whole manifest of a million images held ~330 MB
 * and parsing it blocked the event loop for 1.2 s, at each submit and each worker's check.
 */
async function readPackedVersionHead(store: ObjectStore, version: string): Promise<PackedVersionHead> {
  const key = packedManifestKey(version);
  const notManifest = new UnreadablePackedVersionError(
    `the manifest ${store.uri(key)} is not a packed-dataset manifest`,
  );
  const { sha256, head } = await digestManifest(store, key);
  if (sha256 !== version)
    throw new UnreadablePackedVersionError(
      `the manifest ${store.uri(key)} has sha256 ${sha256}: altered or truncated, it is not version ${version}`,
    );
  if (head === null) throw notManifest;
  let json: unknown;
  try {
    json = JSON.parse(`${head.toString('utf8')}}`);
  } catch {
    json = undefined;
  }
  const parsed = PackedVersionHeadSchema.safeParse(json);
  if (!parsed.success) throw notManifest;
  return parsed.data;
}

/** A folder's URI ends in `/` (`store.uri(prefix)` of a prefix given without one does not). */
function asFolderUri(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** What a starting run reads, beyond its spec. */
export interface StartingReferences {
  /**
   * The checkpoint it builds on or evaluates (the one pinned at submit), which of its models, the
   * run that wrote it, whether it is that run's best (its `result.selection.best`), and what that
   * run's row recorded of its data (TrainedData).
   */
  checkpoint: {
    uri: string;
    sequence: number;
    model: BaseModel;
    runId: string;
    best: boolean;
    trainedOn: TrainedData;
  } | null;
  /** Where its registered image folder is. */
  imageFolder: DatasetLocation | null;
}

/**
 * The references a spec makes by id or name — a base run, a registered model version, a
 * checkpoint to evaluate, a registered dataset, an imported model file — resolved by one set of
 * rules twice: at submit (`atSubmit`), where what the spec names is chosen, checked and pinned,
 * so a run that would fail on a worker is refused naming the field; and when a worker starts the
 * run (`atStart`), where the pinned checkpoint and the dataset are read again (retention, a
 * deleted dataset or a worker with other TRAINYARD_LOCAL_ROOTS may have changed the answer) and
 * local paths are checked against that worker's roots before anything is opened.
 * Everything referred to belongs to the run's project: another project's run, model or dataset
 * is answered exactly like one that does not exist.
 */
export class RunReferencesResolver {
  private readonly runs: RunsRepository;
  private readonly checkpoints: CheckpointsRepository;
  private readonly datasets: DatasetsRepository;
  private readonly models: ModelVersionsRepository;
  private readonly versions = new Map<string, Promise<PackedVersionHead>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly files: ReadableFiles,
  ) {
    this.runs = new RunsRepository(prisma);
    this.checkpoints = new CheckpointsRepository(prisma);
    this.datasets = new DatasetsRepository(prisma);
    this.models = new ModelVersionsRepository(prisma);
  }

  /** Checks a submitted spec's references; throws RunReferenceRefusedError naming the field. */
  async atSubmit(spec: RunSpec, project: string): Promise<SubmittedReferences> {
    const imported = await this.whyImportedModelUnreadable(spec, project);
    if (imported)
      throw new RunReferenceRefusedError('The imported model cannot be read', 'model.importedModel.uri', imported);
    const based = await this.pinBase(spec, project);
    const dataset = based.spec.dataset;
    if (dataset?.name !== 'image-folder') return { ...based, folderImages: null, folderClasses: null };
    const record = await this.registeredDataset(dataset.datasetId, project);
    if (!record) {
      throw new RunReferenceRefusedError(
        'The dataset is not registered',
        'dataset.datasetId',
        `No dataset with id ${dataset.datasetId}; register the folder with POST /v1/datasets`,
      );
    }
    const internal = await this.whyDatasetFolderInternal(record.location, project);
    if (internal)
      throw new RunReferenceRefusedError(
        'The dataset cannot be read',
        'dataset.datasetId',
        `Dataset ${dataset.datasetId}'s folder ${internal}`,
      );
    // Registered before class folders were checked, a name may hold what every worker now refuses.
    // A streamed version's own class names are checked when its manifest is read (versionOf).
    const refusedClass = dataset.stream ? undefined : record.classNames.find((name) => textProblem(name) !== null);
    if (refusedClass !== undefined)
      throw new RunReferenceRefusedError(
        'The dataset cannot be read',
        'dataset.datasetId',
        `Dataset ${dataset.datasetId}'s class folder ${quoteText(refusedClass)}: ${textProblem(refusedClass)}; rename the folder and register it again`,
      );
    let folder = { images: record.counts.reduce((a, b) => a + b, 0), classes: record.counts.length };
    if (dataset.stream) {
      // The run trains on the version's images and classes, not the registered folder's.
      const version = await this.versionOf(dataset.datasetId, record.location, dataset.stream.version);
      if ('reason' in version)
        throw new RunReferenceRefusedError(
          'The dataset version cannot be streamed',
          'dataset.stream.version',
          version.reason,
        );
      folder = { images: version.images, classes: version.classNames.length };
    }
    const headClasses = ownHeadClasses(based.spec);
    if (headClasses !== null && headClasses !== folder.classes)
      throw new RunReferenceRefusedError(
        'The head does not fit the dataset',
        'model.layers.head',
        `The head outputs ${headClasses} classes but dataset ${dataset.datasetId} has ${folder.classes}`,
      );
    return { ...based, folderImages: folder.images, folderClasses: folder.classes };
  }

  /** What the run reads, or why it cannot start (a reason naming the field, never a file's contents). */
  async atStart(
    run: Run,
    spec: RunSpec,
  ): Promise<{ ok: true; references: StartingReferences } | { ok: false; reason: string }> {
    const imported = await this.whyImportedModelUnreadable(spec, run.project);
    if (imported) return { ok: false, reason: `model.importedModel.uri ${imported}` };
    const checkpoint = await this.pinnedCheckpoint(run, spec);
    if (checkpoint && 'reason' in checkpoint) return { ok: false, reason: checkpoint.reason };
    const references: StartingReferences = { checkpoint, imageFolder: null };
    const dataset = spec.dataset;
    if (dataset?.name === 'image-folder') {
      const record = await this.registeredDataset(dataset.datasetId, run.project);
      if (!record) return { ok: false, reason: `dataset ${dataset.datasetId} is not registered (POST /v1/datasets)` };
      references.imageFolder = record.location;
      if (record.location.kind === 'local') {
        const { path } = record.location;
        const refused = await whyRefused(() => resolveUnderRoots(path, this.rootsOf(run.project)));
        if (refused) return { ok: false, reason: `dataset ${dataset.datasetId} location.path ${refused}` };
      }
      const internal = await this.whyDatasetFolderInternal(record.location, run.project);
      if (internal) return { ok: false, reason: `dataset ${dataset.datasetId}'s folder ${internal}` };
      if (dataset.stream) {
        const version = await this.versionOf(dataset.datasetId, record.location, dataset.stream.version, 'read');
        if ('reason' in version) return { ok: false, reason: `dataset.stream.version ${version.reason}` };
      }
    }
    return { ok: true, references };
  }

  /**
   * What a packed version says about itself, once it is known to have been packed from the
   * dataset's own folder; else why not, as a reason. A version is not recorded on a dataset (any
   * operator packs any folder into the shared store), so its manifest's `source` is what ties the
   * two: without this a 2-image dataset could stream another folder's version, another project's
   * too, while quotas counted its 2 images. A version that is missing and one packed from another
   * folder get the same answer, so the answer says nothing about other folders' versions. At
   * submit a manifest already read is not read again (`known`); a worker reads it afresh.
   */
  private async versionOf(
    datasetId: string,
    location: DatasetLocation,
    version: string,
    manifest: 'known' | 'read' = 'known',
  ): Promise<PackedVersionHead | { reason: string }> {
    const notOurs = {
      reason: `no packed version ${version} of dataset ${datasetId} in ${this.files.store.description}: a version streams only the folder it was packed from (npm run dataset:pack -- ${datasetId} prints the version of its folder)`,
    };
    let head: PackedVersionHead;
    try {
      head =
        manifest === 'known'
          ? await this.packedVersion(version)
          : await readPackedVersionHead(this.files.store, version);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return notOurs;
      if (error instanceof UnreadablePackedVersionError) return { reason: error.message };
      throw error;
    }
    const folders = await this.folderUris(location);
    return folders.includes(asFolderUri(head.source)) ? head : notOurs;
  }

  /**
   * The URIs the dataset's folder is known by, as `npm run dataset:pack` records a version's
   * `source` (`store.uri(prefix)` of the folder it listed): for a prefix (a dataset id or
   * `--prefix`, both normalised to end in `/`), the configured store's URI of it; for a local
   * folder (a dataset id or `--path`, both resolved with realpath), a store of its own at the path
   * the dataset records, or at its real path now (a link changed since registration). Compared
   * whole, as folders: a sibling (`flowers2/`), a subfolder or a parent is another folder.
   */
  private async folderUris(location: DatasetLocation): Promise<string[]> {
    if (location.kind === 's3') return [asFolderUri(this.files.store.uri(location.prefix))];
    const uris = [new LocalObjectStore(location.path).uri('')];
    const real = await resolveUnderRoots(location.path, this.files.localRoots).catch(() => null);
    if (real !== null) uris.push(new LocalObjectStore(real).uri(''));
    return uris;
  }

  /**
   * A version's manifest, read and checked: its bytes must be the version named (content
   * addressing), so what it says never changes and each is read once per process (the last
   * VERSIONS_KEPT), however often runs name it. A failed read is forgotten.
   */
  private packedVersion(version: string): Promise<PackedVersionHead> {
    const known = this.versions.get(version);
    if (known) return known;
    const read = readPackedVersionHead(this.files.store, version);
    this.versions.set(version, read);
    read.catch(() => {
      if (this.versions.get(version) === read) this.versions.delete(version);
    });
    if (this.versions.size > VERSIONS_KEPT) this.versions.delete(this.versions.keys().next().value!);
    return read;
  }

  /**
   * A dataset row naming a folder Trainyard writes for every project (runs/, uploads other than its
   * own, packed versions), as a reason; null when it is a folder of its own. Registration refuses
   * them; this stops rows written before it did, at submit and before a worker reads.
   */
  private async whyDatasetFolderInternal(location: DatasetLocation, project: string): Promise<string | null> {
    if (location.kind === 's3') return recordedDatasetPrefixProblem(location.prefix);
    const real = await resolveUnderRoots(location.path, this.rootsOf(project)).catch(() => null);
    return real === null ? null : internalPathProblem(real, this.files.store);
  }

  /**
   * An imported model is read from the configured bucket, or from a local file under
   * TRAINYARD_LOCAL_ROOTS; the refusal of anything else, or null. Checked at submit and again
   * before a worker reads (roots and links may change in between).
   */
  private async whyImportedModelUnreadable(spec: RunSpec, project: string): Promise<string | null> {
    const base = spec.kind === 'finetune' ? classifierBase(spec.model) : null;
    if (base?.kind !== 'imported') return null;
    return whyRefused(async () => {
      const located = await locateModelFile(base.model.uri, this.files.store, this.rootsOf(project));
      // Its weight files are read from its folder and below: one that is, holds or lies in a folder
      // another project registered would train that project's images into this one's model. Named
      // both ways where the store is a local folder: a prefix registered is a path there, and back.
      const folder: DatasetLocation =
        located.kind === 'store'
          ? { kind: 's3', prefix: modelFolderOfKey(located.key)! }
          : { kind: 'local', path: `${dirname(located.path)}/` };
      const twin = await storeFolderTwin(folder, this.files.store);
      let taken = false;
      for (const name of twin ? [folder, twin] : [folder]) taken ||= await this.datasets.folderTaken(name, project);
      if (taken)
        throw new ModelUriRefusedError(
          "is, holds or lies in a folder another project registered as a dataset; import a model from a folder of your project's own",
        );
    });
  }

  /** The local roots the project may read under: the shared ones and its own. */
  private rootsOf(project: string): string[] {
    return localRootsFor({ localRoots: this.files.localRoots, rootProjects: this.files.rootProjects }, project);
  }

  /** A run of the project, or null (another project's run is as absent as an unknown one). */
  private async ownRun(id: string, project: string): Promise<Run | null> {
    const run = await this.runs.get(id);
    return run && run.project === project ? run : null;
  }

  private async registeredDataset(id: string, project: string): Promise<DatasetView | null> {
    const record = await this.datasets.get(id);
    return record && record.project === project ? record : null;
  }

  /** The base run and the checkpoint to pin, chosen at submit. */
  private async pinBase(spec: RunSpec, project: string): Promise<PinnedBase> {
    const base = baseOf(spec);
    if (base.kind === 'none') return { spec, baseRunId: null, baseCheckpointId: null, baseSpec: null };
    if (base.kind === 'evaluated')
      return this.pinEvaluated(spec as Extract<RunSpec, { kind: 'evaluate' }>, base, project);
    if (base.kind === 'run') {
      const images = spec.kind === 'finetune' ? datasetImageShape(spec.dataset) : null;
      const why = await this.whyBaseRunUnusable(base.runId, project, images);
      if (typeof why === 'string')
        throw new RunReferenceRefusedError('The base run cannot be fine-tuned from', 'model.baseRunId', why);
      return {
        spec: withBaseRunArchitecture(spec, why.pretrain),
        baseRunId: base.runId,
        baseCheckpointId: why.checkpointId,
        baseSpec: why.pretrain,
      };
    }
    const { name, version: number } = base.model;
    const version = await this.models.get(name, number, project);
    if (!version)
      throw new RunReferenceRefusedError(
        'The base model is not registered',
        'model.baseModel',
        `No version ${number} of model "${name}"`,
      );
    const refuse = (why: string) =>
      new RunReferenceRefusedError('The base model cannot be fine-tuned from', 'model.baseModel', why);
    if (version.checkpoint.status !== 'COMPLETE')
      throw refuse(`Its checkpoint ${version.checkpointId} is ${version.checkpoint.status}`);
    if (!usableModel(version.checkpoint, MODELS_OF.registered))
      throw refuse(`Its checkpoint ${version.checkpointId} ${lacks(version.checkpoint, MODELS_OF.registered)}`);
    // The version's run: a pretrain's (its encoder), or a fine-tune's (its classifier: no architecture to take).
    const baseSpec = spec.kind === 'finetune' ? storedBaseSpec(await this.runs.get(version.runId)) : null;
    return {
      spec: withBaseRunArchitecture(spec, baseSpec?.kind === 'pretrain' ? baseSpec : null),
      baseRunId: version.runId,
      baseCheckpointId: version.checkpointId,
      baseSpec,
    };
  }

  /**
   * A fine-tune starts from a finished pretrain run's encoder: its best checkpoint (by the
   * pretrain's selection metric) when its result records one, else its latest complete one
   * (chosenCheckpoint, the rule of evaluations, model versions and pipeline steps too). Its encoder
   * takes the images it was pretrained on: a fine-tune's dataset of another shape (`images`) could
   * only fail in the worker. Returns the checkpoint to pin, and the run's spec when it reads as a
   * pretrain's (read and parsed here only).
   */
  private async whyBaseRunUnusable(
    baseRunId: string,
    project: string,
    images: readonly number[] | null,
  ): Promise<string | { checkpointId: string; pretrain: PretrainSpec | null }> {
    const base = await this.ownRun(baseRunId, project);
    if (!base) return `No run with id ${baseRunId}`;
    if (base.kind !== 'PRETRAIN') return `Run ${baseRunId} is a ${base.kind} run; the base must be a PRETRAIN run`;
    if (base.status !== 'SUCCEEDED') return `Run ${baseRunId} is ${base.status}; the base must have SUCCEEDED`;
    // A stored spec that no longer reads is left to the training process, which checks the shapes too.
    const stored = storedBaseSpec(base);
    const pretrain = stored?.kind === 'pretrain' ? stored : null;
    const encoderImages = pretrain ? autoencoderInputShape(pretrain.model) : null;
    if (images && encoderImages && !sameShape(encoderImages, images))
      return `Run ${baseRunId}'s encoder takes images of ${encoderImages.join('×')} but this run's dataset gives ${images.join('×')}: use a dataset of that shape (dataset.imageShape, or the shapes' imageSize and channels)`;
    const picked = await chosenCheckpoint(this.prisma, base);
    if (!picked) return `Run ${baseRunId} has no complete checkpoint`;
    const { checkpoint, chosen } = picked;
    if (!usableModel(checkpoint, MODELS_OF.run))
      return `The ${chosen === 'best' ? 'best' : 'latest complete'} checkpoint of run ${baseRunId} ${lacks(checkpoint, MODELS_OF.run)}`;
    return { checkpointId: checkpoint.id, pretrain };
  }

  /**
   * An evaluation needs a SUCCEEDED fine-tune's COMPLETE checkpoint with a classifier. Without a
   * dataset in the spec it evaluates on the run's own dataset, written into the stored spec so
   * the run says exactly what it measured.
   */
  private async pinEvaluated(
    spec: Extract<RunSpec, { kind: 'evaluate' }>,
    { runId, sequence }: Extract<BaseReference, { kind: 'evaluated' }>,
    project: string,
  ): Promise<PinnedBase> {
    const run = await this.ownRun(runId, project);
    const refuse = (field: string, why: string) =>
      new RunReferenceRefusedError('The checkpoint cannot be evaluated', field, why);
    if (!run) throw refuse('checkpoint.runId', `No run with id ${runId}`);
    if (run.kind !== 'FINETUNE')
      throw refuse(
        'checkpoint.runId',
        `Run ${runId} is a ${run.kind} run; only FINETUNE runs have a classifier to evaluate`,
      );
    if (run.status !== 'SUCCEEDED')
      throw refuse('checkpoint.runId', `Run ${runId} is ${run.status}; it must have SUCCEEDED`);
    const checkpoint =
      sequence === undefined
        ? ((await chosenCheckpoint(this.prisma, run))?.checkpoint ?? null)
        : await this.checkpoints.bySequence(runId, sequence);
    const field = sequence === undefined ? 'checkpoint.runId' : 'checkpoint.sequence';
    if (!checkpoint || checkpoint.status !== 'COMPLETE') {
      throw refuse(field, `Run ${runId} has no complete checkpoint${sequence === undefined ? '' : ` #${sequence}`}`);
    }
    if (!usableModel(checkpoint, MODELS_OF.evaluated))
      throw refuse(field, `Checkpoint #${checkpoint.sequence} of run ${runId} holds no classifier`);
    const trainedOn = (run.spec as unknown as { dataset: NonNullable<typeof spec.dataset> }).dataset;
    const trained = DatasetSpecSchema.safeParse(trainedOn);
    const problem =
      spec.dataset && trained.success
        ? evaluationDatasetProblem(spec.dataset, trained.data, `the classifier of run ${runId}`)
        : null;
    // Refused naming `dataset` now, rather than an evaluation that fails on a worker.
    if (problem) throw refuse('dataset', problem);
    const dataset = spec.dataset ?? trainedOn;
    return { spec: { ...spec, dataset }, baseRunId: runId, baseCheckpointId: checkpoint.id, baseSpec: null };
  }

  /**
   * The checkpoint pinned at submit (or when a pipeline released the step), read again: retention
   * never deletes a pinned one, but it may have been found CORRUPT since. Every way a run that
   * builds on a checkpoint is written pins it (submit, sweeps, pipeline release), so an unpinned
   * one is refused rather than guessed.
   */
  private async pinnedCheckpoint(
    run: Run,
    spec: RunSpec,
  ): Promise<StartingReferences['checkpoint'] | { reason: string } | null> {
    const base = baseOf(spec);
    if (base.kind === 'none') return null;
    const owner =
      base.kind === 'evaluated'
        ? `evaluated run ${base.runId}`
        : base.kind === 'run'
          ? `base run ${base.runId}`
          : `registered model ${base.model.name} v${base.model.version}`;
    const purpose = base.kind === 'evaluated' ? 'evaluated' : 'fine-tuned from';
    if (!run.baseCheckpointId)
      return { reason: `${owner} cannot be ${purpose}: run ${run.id} was recorded without a pinned checkpoint` };
    const wanted = MODELS_OF[base.kind];
    const row = await this.checkpoints.get(run.baseCheckpointId);
    const model = usableModel(row, wanted);
    if (!row || !model) {
      const why = row?.status === 'COMPLETE' ? lacks(row, wanted) : `is ${row?.status ?? 'missing'}`;
      return { reason: `${owner} cannot be ${purpose}: its pinned checkpoint ${run.baseCheckpointId} ${why}` };
    }
    const writer = await this.runs.get(row.runId);
    const best = bestCheckpointSequence(writer?.result) === row.sequence;
    return { uri: row.uri, sequence: row.sequence, model, runId: row.runId, best, trainedOn: trainedData(writer) };
  }
}

/**
 * What a run's row says of the data it trained on, for an evaluation of its checkpoint to check
 * what the checkpoint cannot tell alone: its classes (its result's, for checkpoints written before
 * they held them) and how many image files its data report found and skipped (a position split
 * holds out the same images only of the folder as it was). Null where the row says nothing.
 */
export interface TrainedData {
  classNames: string[] | null;
  files: { found: number; skipped: number } | null;
}

const TrainedResult = z.object({ classNames: z.array(z.string()) });
const TrainedReport = z.object({ files: z.int().min(0), skippedCount: z.int().min(0) });

function trainedData(run: Run | null): TrainedData {
  const result = TrainedResult.safeParse(run?.result);
  const report = TrainedReport.safeParse(run?.dataReport);
  return {
    classNames: result.success ? result.data.classNames : null,
    files: report.success ? { found: report.data.files, skipped: report.data.skippedCount } : null,
  };
}

/** The classes a fine-tune's own head outputs, where the spec alone tells (null otherwise). */
function ownHeadClasses(spec: RunSpec): number | null {
  const head = specTopologies(spec).find((t) => t.field === 'model.layers.head');
  if (!head) return null;
  const inferred = inferTopology(head.topology, head.input);
  return inferred.ok && inferred.inferred.outputShape.length === 1 ? inferred.inferred.outputShape[0]! : null;
}

/** A run's stored spec, parsed, when it reads as a pretrain's or a fine-tune's; else null (no run, an evaluation, a spec that no longer reads). */
function storedBaseSpec(run: Run | null): BaseRunSpec | null {
  const stored = RunSpecSchema.safeParse(run?.spec);
  return stored.success && stored.data.kind !== 'evaluate' ? stored.data : null;
}

/**
 * A fine-tune on a pretrain's encoder (a base run, or a registered version of one) trains that
 * encoder: its stored spec takes the pretrain's architecture (withBaseArchitecture), or the
 * field given otherwise is refused. A base that is no built-in pretrain (a registered fine-tune,
 * an autoencoder of the spec's own layers) or a stored spec that no longer reads (`pretrain`
 * null) leaves it as it is.
 */
function withBaseRunArchitecture(spec: RunSpec, pretrain: PretrainSpec | null): RunSpec {
  if (spec.kind !== 'finetune' || pretrain?.model.type !== 'conv-autoencoder') return spec;
  const taken = withBaseArchitecture(spec.model, pretrain.model);
  if ('field' in taken)
    throw new RunReferenceRefusedError('The model cannot be built on its base', taken.field, taken.message);
  return { ...spec, model: taken.model };
}

/** The refusal of a local path or model URI, as a reason; null when it may be read. */
async function whyRefused(check: () => Promise<unknown>): Promise<string | null> {
  try {
    await check();
    return null;
  } catch (error) {
    if (error instanceof LocalPathRefusedError || error instanceof ModelUriRefusedError) return error.message;
    throw error;
  }
}

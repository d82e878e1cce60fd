// Operator command: packs an image folder into a streamed dataset version.
//   npm run dataset:pack -- <dataset id | --prefix s3/prefix/ | --path /local/dir> [--decode-to 224x224x3]
//                           [--fit cover|contain|fill] [--shard-mb N] [--json]
// A tool, not the API: packing with --decode-to decodes every image with sharp, which the API
// process never loads. Exit codes: 0 packed, 1 usage error, 2 the dataset, folder or store refused.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, loadConfig, type TrainyardConfig } from '@trainyard/config';
import { escapeText, isId } from '@trainyard/contracts';
import { packImageFolder, type PackedVersion } from '@trainyard/datasets';
import { DatasetsRepository, openDatabase } from '@trainyard/db';
import {
  createObjectStore,
  FolderWalkLimitError,
  internalPathProblem,
  InvalidImageFolderError,
  LocalObjectStore,
  LocalPathRefusedError,
  type ObjectStore,
  PACKED_ROOT,
  packedManifestKey,
  recordedDatasetPrefixProblem,
  resolveUnderRoots,
  scanImageFolder,
  walkLimitsOf,
} from '@trainyard/storage';
import { HELP, type PackArgs, type PackSource, parsePackArgs, USAGE, UsageError } from './dataset-pack-args';
import { observedStores, PackProgress } from './pack-progress';

/** The dataset, folder or store would not serve: the message names it. Exit code 2. */
class Refused extends Error {}

interface Output {
  out: (text: string) => void;
  err: { write(text: string): unknown; isTTY?: boolean };
}

async function configuredStore(config: TrainyardConfig): Promise<ObjectStore> {
  const where = config.storage.driver === 's3' ? config.storage.endpoint : config.storage.root;
  try {
    return await createObjectStore(config.storage);
  } catch (error) {
    throw new Refused(`the object store ${where} cannot be used: ${(error as Error).message}`);
  }
}

async function localFolder(
  path: string,
  what: string,
  config: TrainyardConfig,
  dest: () => Promise<ObjectStore>,
): Promise<LocalObjectStore> {
  let real: string;
  try {
    real = await resolveUnderRoots(resolve(path), config.paths.localRoots);
  } catch (error) {
    if (error instanceof LocalPathRefusedError) throw new Refused(`${what} ${path}: ${error.message}`);
    throw error;
  }
  if (!(await stat(real).catch(() => null))?.isDirectory()) throw new Refused(`${what} ${path} is not a folder`);
  // The local store under the roots (the demo's .trainyard/objects) holds every project's files.
  const internal = await internalPathProblem(real, await dest());
  if (internal) throw new Refused(`${what} ${path}: expected a folder of your own: it ${internal}`);
  return new LocalObjectStore(real);
}

/** Where the images are: a store and a prefix in it ('' for a local folder, read as a store of its own). */
async function locate(
  source: PackSource,
  config: TrainyardConfig,
  dest: () => Promise<ObjectStore>,
): Promise<{ store: ObjectStore; prefix: string; dataset?: string }> {
  switch (source.kind) {
    case 'path':
      return { store: await localFolder(source.path, '--path', config, dest), prefix: '' };
    case 'prefix':
      // Normalized and checked as a folder of one's own by parsePackArgs.
      return { store: await dest(), prefix: source.prefix };
    case 'dataset': {
      // Ids are UUIDs (the column's type): anything else cannot be registered.
      if (!isId(source.id)) throw new Refused(`dataset ${source.id} is not registered (dataset ids are UUIDs)`);
      const dataset = await registeredDataset(source.id, config);
      if (!dataset) throw new Refused(`dataset ${source.id} is not registered`);
      const label = `dataset ${source.id} (${dataset.project}/${dataset.name})`;
      if (dataset.location.kind === 'local')
        return {
          store: await localFolder(dataset.location.path, `${label}: location.path`, config, dest),
          prefix: '',
          dataset: label,
        };
      // A row written before registrations were checked may name every project's folder.
      const internal = recordedDatasetPrefixProblem(dataset.location.prefix);
      if (internal) throw new Refused(`${label}: location.prefix ${dataset.location.prefix} ${internal}`);
      return { store: await dest(), prefix: dataset.location.prefix, dataset: label };
    }
  }
}

/** The dataset's row, or null; the database is open only meanwhile (the embedded one admits one process). */
async function registeredDataset(id: string, config: TrainyardConfig) {
  let db;
  try {
    db = await openDatabase(config.database, {
      migrate: false,
      log: () => undefined,
      applicationName: 'trainyard-dataset-pack',
    });
  } catch (error) {
    throw new Refused(`the database cannot be used: ${(error as Error).message}`);
  }
  try {
    return await new DatasetsRepository(db.prisma).get(id);
  } finally {
    await db.close();
  }
}

async function stillRegistered(id: string, config: TrainyardConfig): Promise<void> {
  if (!(await registeredDataset(id, config)))
    throw new Error(`dataset ${id} was deleted while it was packed: no version was written`);
}

function streamSnippet(version: string) {
  return { version, shuffleBuffer: 1000, readAheadShards: 2, maxBadFraction: 0 };
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;
}

async function pack(args: PackArgs, config: TrainyardConfig, io: Output): Promise<void> {
  let destStore: ObjectStore | undefined;
  const dest = async () => (destStore ??= await configuredStore(config));
  const source = args.source;
  const { store, prefix, dataset } = await locate(source, config, dest);
  const target = await dest();
  const folder = store.uri(prefix);

  const manifestsPrefix = packedManifestKey('', PACKED_ROOT).replace(/\.json$/, '');
  const progress = new PackProgress(io.err);
  const observed = observedStores(store, target, {
    shardsPrefix: `${PACKED_ROOT}shards/`,
    manifestsPrefix,
    onRead: () => progress.fileRead(),
    onShard: () => progress.shardWritten(),
  });

  const walkLimits = walkLimitsOf(config.paths);
  let scan;
  try {
    scan = await scanImageFolder(observed.source, prefix, walkLimits);
  } catch (error) {
    if (error instanceof InvalidImageFolderError || error instanceof FolderWalkLimitError)
      throw new Refused(`${dataset ? `${dataset}: ` : ''}${error.message}`);
    throw new Refused(`${dataset ? `${dataset}: ` : ''}${folder} cannot be listed: ${(error as Error).message}`);
  }
  io.err.write(
    `packing ${folder} (${scan.files.length} images in ${scan.classNames.length} classes) into ${target.uri(PACKED_ROOT)}` +
      `${args.decodeTo ? `, decoded to ${args.decodeTo.imageShape.join('x')} (${args.decodeTo.fit})` : ''}\n`,
  );
  progress.begin(scan.files.length);

  let packed: PackedVersion;
  try {
    packed = await packImageFolder(observed.source, prefix, observed.dest, {
      shardBytes: args.shardBytes,
      decodeTo: args.decodeTo,
      walkLimits,
      // A dataset deleted meanwhile (its files may all have been read first) gets no version.
      beforeManifest: source.kind === 'dataset' ? () => stillRegistered(source.id, config) : undefined,
    });
  } catch (error) {
    throw new Refused(`packing ${folder} failed: ${(error as Error).message}`);
  } finally {
    progress.done();
  }

  const { version, manifest, skipped } = packed;
  const alreadyPacked = observed.manifestExisted() === true;
  const bytes = manifest.shards.reduce((n, s) => n + s.bytes, 0);
  const manifestUri = target.uri(packedManifestKey(version));
  const stream = streamSnippet(version);
  if (args.json) {
    io.out(
      `${JSON.stringify({
        version,
        source: folder,
        ...(args.source.kind === 'dataset' ? { datasetId: args.source.id } : {}),
        manifest: manifestUri,
        alreadyPacked,
        images: manifest.images,
        classNames: manifest.classNames,
        shards: manifest.shards.length,
        bytes,
        ...(manifest.pixels ? { pixels: manifest.pixels } : {}),
        skipped,
        stream,
      })}\n`,
    );
    return;
  }
  const lines = [
    `version: ${version}`,
    `  ${manifest.images} images in ${manifest.classNames.length} classes, ${manifest.shards.length} shard${manifest.shards.length === 1 ? '' : 's'} (${mebibytes(bytes)})` +
      (manifest.pixels ? `, decoded pixels ${manifest.pixels.imageShape.join('x')} (${manifest.pixels.fit})` : ''),
    `  manifest: ${manifestUri}`,
    alreadyPacked
      ? '  this manifest was already in the store: the same files were packed before (same version, nothing changed)'
      : '  new version written',
  ];
  if (skipped.length > 0) {
    lines.push(`  ${skipped.length} file${skipped.length === 1 ? '' : 's'} left out (listed in the manifest):`);
    // A file's name may hold an escape sequence (that is why it was left out): shown escaped.
    for (const s of skipped.slice(0, 10)) lines.push(`    ${escapeText(s.file)}: ${escapeText(s.reason)}`);
    if (skipped.length > 10) lines.push(`    … and ${skipped.length - 10} more`);
  }
  lines.push(
    '',
    `Train from it: in a fine-tune's image-folder dataset (datasetId: the registered folder${
      manifest.pixels ? `; imageShape and fit must match the decoded pixels` : ''
    }):`,
    ...(manifest.pixels
      ? [`  "imageShape": [${manifest.pixels.imageShape.join(', ')}], "fit": "${manifest.pixels.fit}",`]
      : []),
    `  "stream": ${JSON.stringify(stream)
      .replace(/([,:{])/g, '$1 ')
      .replace(/}$/, ' }')}`,
  );
  io.out(`${lines.join('\n')}\n`);
}

/** Runs the command; returns the exit code (0 packed, 1 usage, 2 refused). */
export async function main(argv: string[], io: Output): Promise<number> {
  let args;
  try {
    args = parsePackArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err.write(`dataset:pack: ${error.message}\n\n${USAGE}\n`);
    return 1;
  }
  if (args === HELP) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  let config: TrainyardConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err.write(`dataset:pack: ${error.message}\n`);
    return 2;
  }
  try {
    await pack(args, config, io);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err.write(`dataset:pack: ${error.message}\n\n${USAGE}\n`);
      return 1;
    }
    io.err.write(`dataset:pack: ${error instanceof Refused ? '' : 'failed: '}${(error as Error).message}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2), { out: (text) => process.stdout.write(text), err: process.stderr }).then(
    // Exit once the output is written: an S3 client's sockets or sharp's threads must not keep it up.
    (code) => process.stdout.write('', () => process.exit(code)),
    (error: unknown) => {
      process.stderr.write(`dataset:pack: ${(error as Error).stack ?? String(error)}\n`, () => process.exit(2));
    },
  );
}

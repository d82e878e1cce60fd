import { parseArgs } from 'node:util';
import { ImageFolderDatasetSchema } from '@trainyard/contracts';
import { InvalidObjectKeyError, internalPrefixProblem, normalizeObjectPrefix } from '@trainyard/storage';

export type ResizeFit = 'cover' | 'contain' | 'fill';

/** What to pack: a registered dataset, a prefix of the configured store, or a local folder. */
export type PackSource =
  { kind: 'dataset'; id: string } | { kind: 'prefix'; prefix: string } | { kind: 'path'; path: string };

export interface PackArgs {
  source: PackSource;
  decodeTo?: { imageShape: [number, number, number]; fit: ResizeFit };
  /** Bytes at which a shard closes (--shard-mb × 2^20). */
  shardBytes?: number;
  json: boolean;
}

export const USAGE = `Usage: npm run dataset:pack -- <dataset id | --prefix s3/prefix/ | --path /local/dir> [options]

Packs an image folder (one subfolder per class) into content-addressed tar shards and a manifest
under datasets/packed/ in the configured object store, and prints the version a fine-tune names
in dataset.stream.version. Reads DATABASE_URL, S3_* and TRAINYARD_LOCAL_ROOTS from the environment.

  <dataset id>          a registered dataset (any project): its folder or prefix is packed
  --prefix P            a prefix of the configured object store (S3_BUCKET), e.g. datasets/flowers/
  --path DIR            a local folder, under one of TRAINYARD_LOCAL_ROOTS
  --decode-to HxWxC     store decoded, resized uint8 pixels (e.g. 224x224x3): no decoding when training,
                        usable only by runs of that imageShape and fit (sides 8 to 512, 1 or 3 channels)
  --fit F               cover (default), contain or fill; only with --decode-to
  --shard-mb N          a shard closes at N MiB (default 16)
  --json                print one JSON object on stdout instead of text
  -h, --help            this text

Exit codes: 0 packed, 1 usage error, 2 the dataset, folder or store refused.`;

/** A wrong command line: the message names the flag. Exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const FITS: readonly ResizeFit[] = ['cover', 'contain', 'fill'];

/** `--help` was asked for: print USAGE, exit 0. */
export const HELP = Symbol('help');

export function parsePackArgs(argv: string[]): PackArgs | typeof HELP {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        prefix: { type: 'string' },
        path: { type: 'string' },
        'decode-to': { type: 'string' },
        fit: { type: 'string' },
        'shard-mb': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // node:util's messages name the flag: "Unknown option '--shards'", "Option '--path <value>' argument missing".
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return HELP;

  const given = [
    ...positionals.map((id) => ({ kind: 'dataset' as const, id })),
    ...(values.prefix !== undefined ? [{ kind: 'prefix' as const, prefix: values.prefix }] : []),
    ...(values.path !== undefined ? [{ kind: 'path' as const, path: values.path }] : []),
  ];
  if (given.length === 0) throw new UsageError('name what to pack: a dataset id, --prefix or --path');
  if (given.length > 1) {
    const names = given.map((s) => (s.kind === 'dataset' ? `dataset id "${s.id}"` : `--${s.kind}`));
    throw new UsageError(`name one thing to pack, not ${names.join(' and ')}`);
  }
  const source = given[0];
  if (source.kind === 'prefix') source.prefix = ownPrefix(source.prefix);
  if (source.kind === 'path' && source.path.trim() === '') throw new UsageError('--path: empty');

  let decodeTo: PackArgs['decodeTo'];
  if (values['decode-to'] !== undefined) {
    const imageShape = decodedShape(values['decode-to']);
    const fit = values.fit ?? 'cover';
    if (!FITS.includes(fit as ResizeFit)) throw new UsageError(`--fit: expected ${FITS.join(', ')} (got "${fit}")`);
    decodeTo = { imageShape, fit: fit as ResizeFit };
  } else if (values.fit !== undefined) {
    throw new UsageError('--fit: only with --decode-to (an encoded pack is resized when a run reads it)');
  }

  let shardBytes: number | undefined;
  if (values['shard-mb'] !== undefined) {
    const mb = Number(values['shard-mb']);
    if (!/^\d+(\.\d+)?$/.test(values['shard-mb'].trim()) || !(mb > 0) || mb > 4096)
      throw new UsageError(
        `--shard-mb: expected a number of MiB above 0 and at most 4096 (got "${values['shard-mb']}")`,
      );
    shardBytes = Math.max(1, Math.round(mb * 2 ** 20));
  }
  return { source, decodeTo, shardBytes, json: values.json };
}

/**
 * A folder of the configured store that a project may register (normalizeObjectPrefix,
 * internalPrefixProblem: the API's rules for `location.prefix`). `datasets/uploads/` would pack
 * every project's uploads into one version, each upload's folder a class.
 */
function ownPrefix(given: string): string {
  if (given.trim() === '') throw new UsageError('--prefix: empty');
  let prefix: string;
  try {
    prefix = normalizeObjectPrefix(given);
  } catch (error) {
    if (error instanceof InvalidObjectKeyError) throw new UsageError(`--prefix ${given}: ${error.reason}`);
    throw error;
  }
  const internal = internalPrefixProblem(prefix);
  if (internal) throw new UsageError(`--prefix ${given}: expected a folder of your own: it ${internal}`);
  return prefix;
}

const SHAPE_PARTS = ['height', 'width', 'channels'];

/**
 * `HxWxC` as a run's `dataset.imageShape` takes it (its bounds live in ImageFolderDatasetSchema):
 * a version decoded to another shape could never be trained on.
 */
function decodedShape(given: string): [number, number, number] {
  const m = /^(\d{1,5})x(\d{1,5})x(\d{1,5})$/.exec(given);
  if (!m) throw new UsageError(`--decode-to: expected HEIGHTxWIDTHxCHANNELS, e.g. 224x224x3 (got "${given}")`);
  const shape: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const checked = ImageFolderDatasetSchema.shape.imageShape.safeParse(shape);
  if (!checked.success) {
    const problems = checked.error.issues.map((i) => `${SHAPE_PARTS[Number(i.path[0])] ?? 'shape'}: ${i.message}`);
    throw new UsageError(
      `--decode-to ${given}: ${problems.join('; ')} (the shape a run's dataset.imageShape can take, which the version must match)`,
    );
  }
  return shape;
}

import { constants } from 'node:fs';
import { lstat, open, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
// Types only: the API process imports @trainyard/storage and must never load TensorFlow.
import type { io } from '@tensorflow/tfjs-core';
import { internalPathProblem, internalPrefixProblem } from './internal-prefixes';
import { InvalidObjectKeyError } from './invalid-object-key.error';
import { LocalObjectStore } from './local-object-store';
import { localPathOf, resolveUnderRoots } from './local-roots';
import { decodeModelArtifacts, MODEL_JSON, parseModelJson, weightSpecsBytes } from './model-artifacts';
import { assertValidKey } from './object-key';
import { ObjectNotFoundError } from './object-not-found.error';
import type { ObjectStore } from './object-store';

/** Where a model.json named by URI is read: a key of the configured store, or a real local path under the roots. */
export type ModelFileLocation = { kind: 'store'; key: string } | { kind: 'local'; path: string };

/** A model URI that names nothing this server may read; the message says why, never what is there. */
export class ModelUriRefusedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ModelUriRefusedError';
  }
}

/**
 * A file an imported model.json lists (or model.json itself) that is not read: it leaves the
 * model's folder, is not a regular file, or lies in a folder no project owns. The message names the
 * file as listed (quoted, cut short), never its content nor what lies outside the folder.
 */
export class ModelFileRefusedError extends Error {
  constructor(
    /** The file as model.json lists it, or model.json itself. */
    readonly file: ModelFile,
    readonly reason: string,
  ) {
    super(`${describeFile(file)} ${reason}`);
    this.name = 'ModelFileRefusedError';
  }
}

/** model.json itself, or a weight file by the path its model.json lists. */
export type ModelFile = { kind: 'model.json' } | { kind: 'weights'; path: string };

const MODEL_JSON_FILE: ModelFile = { kind: 'model.json' };

function describeFile(file: ModelFile): string {
  if (file.kind === 'model.json') return MODEL_JSON;
  const path = file.path.length > 200 ? `${file.path.slice(0, 200)}…` : file.path;
  return `weight file ${JSON.stringify(path)} listed in its ${MODEL_JSON}`;
}

function weightFile(path: string): ModelFile {
  return { kind: 'weights', path };
}

const NOT_MODEL_JSON = `does not name a file called ${MODEL_JSON} (expected …/${MODEL_JSON})`;

/**
 * The folder of a key naming a model.json (`a/b/` of `a/b/model.json`, '' of `model.json`), or
 * null when its last segment is not exactly model.json: `runsmodel.json` would otherwise make
 * `runs` the folder its weights are read from.
 */
export function modelFolderOfKey(key: string): string | null {
  if (key === MODEL_JSON) return '';
  return key.endsWith(`/${MODEL_JSON}`) ? key.slice(0, key.length - MODEL_JSON.length) : null;
}

/**
 * Checks an imported model's URI the same way at submit (the API) and before reading (the
 * worker): `s3://…` and `file://…` URIs of the configured store are keys of it (that bucket only);
 * any other `file://` URI or absolute path must lie under TRAINYARD_LOCAL_ROOTS, resolved with
 * realpath. Its last segment must be exactly `model.json`. Neither may name the folders Trainyard
 * writes for every project (runs/, uploads, packed versions; in a local store reached through the
 * roots too): a model of this fleet is a base by `model.baseRunId` or `model.baseModel`, which
 * check its project. Throws LocalPathRefusedError or ModelUriRefusedError.
 */
export async function locateModelFile(
  uri: string,
  store: ObjectStore,
  roots: readonly string[],
): Promise<ModelFileLocation> {
  const storeUri = store.uri('');
  if (uri.startsWith(storeUri)) {
    const key = uri.slice(storeUri.length);
    try {
      assertValidKey(key);
    } catch (error) {
      if (error instanceof InvalidObjectKeyError)
        throw new ModelUriRefusedError(`not a key of the object store: ${error.reason}`);
      throw error;
    }
    if (modelFolderOfKey(key) === null) throw new ModelUriRefusedError(NOT_MODEL_JSON);
    const internal = internalPrefixProblem(key);
    if (internal) throw new ModelUriRefusedError(`${internal}; import a model from a folder of your own`);
    return { kind: 'store', key };
  }
  if (!uri.startsWith('file://') && !uri.startsWith('/')) {
    throw new ModelUriRefusedError(
      `is not in the configured object store (${storeUri}); other buckets and locations are not read`,
    );
  }
  const named = localPathOf(uri);
  if (!named.endsWith(`${sep}${MODEL_JSON}`)) throw new ModelUriRefusedError(NOT_MODEL_JSON);
  const path = await resolveUnderRoots(named, roots);
  const internal = await internalPathProblem(path, store);
  if (internal) throw new ModelUriRefusedError(`${internal}; import a model from a folder of your own`);
  return { kind: 'local', path };
}

/** How many weight files one model.json may list: VGG16 converted is about 130 shards of 4 MB. */
export const MAX_WEIGHT_FILES = 10_000;

/**
 * The most an imported model.json may be: a topology and a weights manifest (VGG16's is ~60 kB).
 * Read whole and parsed, so a file of gigabytes named model.json would take the training
 * process's memory before anything was checked.
 */
export const MODEL_JSON_MAX_BYTES = 64 * 2 ** 20;

/**
 * The most an imported model's weights may hold (its manifest's shapes and types, and the bytes of
 * its weight files): 4 GiB, the wasm backend's whole memory, a billion float32 weights (VGG16 is
 * 528 MiB). Checked before a weight file is read, each file's size before it is: without it a
 * model.json listing tens of gigabytes had a training process read them all, killed by the kernel
 * for memory (with whatever else the node ran) and retried to its last attempt.
 */
export const IMPORTED_WEIGHTS_MAX_BYTES = 4 * 2 ** 30;

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a weight file path listed in a model.json cannot name a file inside the model's folder, or
 * null when it can: it must be a plain relative path (`group1-shard1of2.bin`, `shards/1.bin`). No
 * `..`, `.` or empty segment, no leading `/`, no `\` (a separator on Windows), no control
 * character (NUL cuts a path short) or lone surrogate, and no `%XX` escape: paths are read as
 * written, and a store or proxy that decodes them would read `%2e%2e%2f` as `../`.
 */
export function weightPathProblem(path: unknown): string | null {
  if (typeof path !== 'string') return 'is not a file name';
  if (path === '') return 'is empty';
  if (path.length > 1024) return 'is longer than 1024 characters';
  if (CONTROL_CHARACTER.test(path)) return 'contains a control character (NUL, newline…)';
  if (LONE_SURROGATE.test(path)) return 'contains a lone UTF-16 surrogate';
  if (path.startsWith('/')) return 'is an absolute path';
  if (path.includes('\\')) return 'contains "\\"';
  if (/%[0-9a-f]{2}/i.test(path)) return 'contains a %-escape (paths are read as written, never decoded)';
  for (const segment of path.split('/')) {
    if (segment === '') return 'contains an empty path segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `contains a "${segment}" segment`;
  }
  return null;
}

/** Every weight file path model.json lists, in manifest order, each checked before any is read. */
function weightPaths(json: io.ModelJSON, source: string): string[] {
  const paths: string[] = [];
  json.weightsManifest.forEach((group, i) => {
    const listed = (group as { paths?: unknown } | null)?.paths;
    if (!Array.isArray(listed)) throw new Error(`${source}'s weightsManifest[${i}] has no list of paths`);
    for (const path of listed as unknown[]) {
      const problem = weightPathProblem(path);
      if (problem) throw new ModelFileRefusedError(weightFile(String(path)), `is not read: it ${problem}`);
      paths.push(path as string);
      if (paths.length > MAX_WEIGHT_FILES)
        throw new Error(`${source} lists more than ${MAX_WEIGHT_FILES} weight files (MAX_WEIGHT_FILES)`);
    }
  });
  return paths;
}

function inside(folder: string, path: string): boolean {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

// One answer whether the target outside exists or not, so a link cannot probe the server's files.
const LEAVES_FOLDER = "is not a file inside the model's folder (a link out of it is not followed)";

/**
 * Opens the real path `path` without following a link, checks what was opened (on Linux, the path
 * of the open descriptor, so a link swapped in since realpath is caught) with `accept`, and reads
 * it only if it is a regular file. Non-blocking, so a FIFO cannot hang the read.
 */
async function readOpened(
  file: ModelFile,
  path: string,
  maxBytes: number,
  accept: (opened: string) => Promise<string | null>,
): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOENT' || code === 'ENOTDIR')
      throw new ModelFileRefusedError(file, LEAVES_FOLDER);
    throw error;
  }
  try {
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => path);
    const problem = await accept(opened);
    if (problem) throw new ModelFileRefusedError(file, problem);
    const stat = await handle.stat();
    if (!stat.isFile()) throw new ModelFileRefusedError(file, 'is not a regular file');
    if (stat.size > maxBytes) throw new ModelFileRefusedError(file, tooLarge(file, stat.size, maxBytes));
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Reads weight file `name` of a local model (under the roots) whose real folder is `folder`: its
 * real path must lie inside that folder, so a link to `/etc/shadow` or to another run's weights is
 * refused, and outside the folders no project owns where the store is a local folder the roots
 * reach (a model.json at the store's root would otherwise list `runs/<run>/…/weights.bin`).
 */
async function readInsideFolder(folder: string, name: string, store: ObjectStore, maxBytes: number): Promise<Buffer> {
  const file = weightFile(name);
  const candidate = join(folder, ...name.split('/'));
  const real = await realpath(candidate).catch(() => null);
  if (real === null) {
    // Missing only when the file itself is absent from a real folder inside the model's: a
    // dangling link (or one through a linked folder) gets the answer a link out of it gets.
    const parent = await realpath(dirname(candidate)).catch(() => null);
    const absent = await lstat(candidate).then(
      () => false,
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
    if (parent !== null && (parent === folder || inside(folder, parent)) && absent)
      throw new ModelFileRefusedError(file, "does not exist in the model's folder");
    throw new ModelFileRefusedError(file, LEAVES_FOLDER);
  }
  if (!inside(folder, real)) throw new ModelFileRefusedError(file, LEAVES_FOLDER);
  return readOpened(file, real, maxBytes, async (opened) => {
    if (!inside(folder, opened)) return LEAVES_FOLDER;
    const internal = await internalPathProblem(opened, store);
    return internal && `is not read: it ${internal}`;
  });
}

/**
 * Reads `file` of a model in the configured store whose model.json is `folderKey + model.json`:
 * the full key must not lie in a folder no project owns (`s3://b/model.json` listing
 * `runs/<run>/…/weights.bin` would read another project's weights). In a local store, a key is read
 * only as the file it names: no link under the store's root is followed (its listings skip them too).
 */
async function readStoreFile(
  store: ObjectStore,
  folderKey: string,
  file: ModelFile,
  maxBytes: number,
): Promise<Buffer> {
  const name = file.kind === 'model.json' ? MODEL_JSON : file.path;
  const key = `${folderKey}${name}`;
  const internal = internalPrefixProblem(key);
  if (internal) throw new ModelFileRefusedError(file, `is not read: its key ${key} ${internal}`);
  if (!(store instanceof LocalObjectStore)) {
    // Its size from the listing first: the object is read whole, and only if it fits.
    const listed = (await store.list(key)).find((object) => object.key === key);
    if (!listed) throw new ObjectNotFoundError(key, store.description);
    if (listed.size > maxBytes) throw new ModelFileRefusedError(file, tooLarge(file, listed.size, maxBytes));
    const bytes = await store.get(key);
    // Replaced since it was listed: held to the bound all the same.
    if (bytes.length > maxBytes) throw new ModelFileRefusedError(file, tooLarge(file, bytes.length, maxBytes));
    return bytes;
  }
  const root = await realpath(store.root).catch(() => store.root);
  const expected = join(root, ...key.split('/'));
  const real = await realpath(join(store.root, ...key.split('/'))).catch(() => null);
  if (real === null) {
    const absent = await lstat(join(store.root, ...key.split('/'))).then(
      () => false,
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT' || error.code === 'ENOTDIR',
    );
    if (absent) throw new ObjectNotFoundError(key, store.description);
    throw new ModelFileRefusedError(file, LEAVES_FOLDER);
  }
  if (real !== expected) throw new ModelFileRefusedError(file, LEAVES_FOLDER);
  return readOpened(file, real, maxBytes, async (opened) => (opened === expected ? null : LEAVES_FOLDER));
}

/** Why `file` of `size` bytes is not read: past MODEL_JSON_MAX_BYTES, or the weights' room left. */
function tooLarge(file: ModelFile, size: number, maxBytes: number): string {
  return file.kind === 'model.json'
    ? `is ${size} bytes; a ${MODEL_JSON} may be at most ${MODEL_JSON_MAX_BYTES} (MODEL_JSON_MAX_BYTES)`
    : `is ${size} bytes, more than the ${maxBytes} its weights manifest leaves for it (an imported model's weights may hold at most ${IMPORTED_WEIGHTS_MAX_BYTES} bytes): not this model's weights`;
}

/**
 * A tfjs IOHandler (load only) for an imported model found by locateModelFile. model.json is read
 * as the file that was checked (its real path, for a local one), and every weight file it lists
 * only inside the model's folder: each path is checked as written (weightPathProblem) before any
 * is read, then a store key against the folders no project owns, a local file by its real path
 * (so a link out of the folder is refused). A refusal is a ModelFileRefusedError naming the file.
 */
export function importedModelIOHandler(location: ModelFileLocation, store: ObjectStore): io.IOHandler {
  return {
    async load(): Promise<io.ModelArtifacts> {
      let source: string;
      let read: (name: string, maxBytes: number) => Promise<Buffer>;
      let json: io.ModelJSON;
      if (location.kind === 'store') {
        const folderKey = modelFolderOfKey(location.key);
        if (folderKey === null) throw new ModelUriRefusedError(NOT_MODEL_JSON);
        source = store.uri(location.key);
        read = (name, maxBytes) => readStoreFile(store, folderKey, weightFile(name), maxBytes);
        json = parseModelJson(await readStoreFile(store, folderKey, MODEL_JSON_FILE, MODEL_JSON_MAX_BYTES), source);
      } else {
        const folder = dirname(location.path);
        source = pathToFileURL(location.path).href;
        read = (name, maxBytes) => readInsideFolder(folder, name, store, maxBytes);
        // The real path locateModelFile checked, whatever its name: `<folder>/model.json` may be another file.
        const modelJson = await readOpened(MODEL_JSON_FILE, location.path, MODEL_JSON_MAX_BYTES, async (opened) =>
          opened === location.path ? null : LEAVES_FOLDER,
        );
        json = parseModelJson(modelJson, source);
      }
      const paths = weightPaths(json, source);
      const declared = weightSpecsBytes(json.weightsManifest.flatMap((group) => group.weights));
      if (declared !== null && declared > IMPORTED_WEIGHTS_MAX_BYTES)
        throw new ModelFileRefusedError(
          MODEL_JSON_FILE,
          `lists weights of ${declared} bytes; an imported model's weights may hold at most ${IMPORTED_WEIGHTS_MAX_BYTES} (IMPORTED_WEIGHTS_MAX_BYTES)`,
        );
      // Each file is read only if it fits in what the manifest's weights leave (decodeModelArtifacts
      // then refuses files that hold less).
      let room = declared ?? IMPORTED_WEIGHTS_MAX_BYTES;
      const shards: Buffer[] = [];
      for (const path of paths) {
        const shard = await read(path, room);
        room -= shard.length;
        shards.push(shard);
      }
      return decodeModelArtifacts(json, shards);
    },
  };
}

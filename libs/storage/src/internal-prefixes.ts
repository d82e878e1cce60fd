import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, sep } from 'node:path';
import { LocalObjectStore } from './local-object-store';
import type { ObjectStore } from './object-store';
import { PACKED_ROOT } from './packed-keys';

/** Every run's files: `runs/<runId>/checkpoints/<seq>/…`, `runs/<runId>/logs/…`, samples. */
export const RUNS_ROOT = 'runs/';
/** Uploaded datasets, one folder per upload: `datasets/uploads/<uuid>/`. */
export const UPLOADS_ROOT = 'datasets/uploads/';

/**
 * The folders of the store Trainyard writes itself, for every project at once. No project owns
 * them, so no request may name them (or a folder holding them) as a dataset or a model: that
 * would read every project's images and weights.
 */
export const INTERNAL_PREFIXES: readonly { prefix: string; holds: string }[] = [
  { prefix: RUNS_ROOT, holds: "every project's runs (checkpoints, logs, samples)" },
  { prefix: UPLOADS_ROOT, holds: "every project's uploaded datasets" },
  { prefix: PACKED_ROOT, holds: "every project's packed dataset versions" },
];

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const UPLOAD_FOLDER = new RegExp(`^${UPLOADS_ROOT}${UUID}/$`);

/** The folder one upload's images go to. */
export function uploadFolder(uploadId: string): string {
  return `${UPLOADS_ROOT}${uploadId}/`;
}

/** Exactly one upload's own folder, as `uploadFolder` writes it (the dataset an upload registers). */
export function isUploadFolder(prefix: string): boolean {
  return UPLOAD_FOLDER.test(prefix);
}

/** How many times a `%` escape is undone (`%252F` → `%2F` → `/`): no store decodes more than once. */
const MAX_DECODES = 3;

/** `text`, and what it reads as once `%XX` escapes are undone, once and again. */
function decodings(text: string): string[] {
  const forms = [text];
  let current = text;
  for (let i = 0; i < MAX_DECODES && /%[0-9a-f]{2}/i.test(current); i++) {
    current = current.replace(/(?:%[0-9a-f]{2})+/gi, (run) =>
      Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'),
    );
    forms.push(current);
  }
  return forms;
}

/**
 * The folders `path` names, as the most lenient store would read them: compatibility forms folded
 * (`ｒｕｎｓ`, `ſ`), case folded (a local store on macOS or Windows reads `RUNS/` as `runs/`),
 * characters some filesystems ignore dropped, `\` read as `/`, empty and `.` segments skipped, `..`
 * taken back, trailing dots and spaces (which Windows drops) removed.
 */
function comparableSegments(path: string): string[] {
  const folded = path
    .normalize('NFKC')
    .replace(/\p{Default_Ignorable_Code_Point}/gu, '')
    .toLowerCase()
    .replace(/\\/g, '/');
  const segments: string[] = [];
  for (const raw of folded.split('/')) {
    if (raw === '' || raw === '.') continue;
    if (raw === '..') {
      segments.pop();
      continue;
    }
    const segment = raw.replace(/[. ]+$/, '');
    if (segment !== '') segments.push(segment);
  }
  return segments;
}

function startsWith(segments: string[], head: string[]): boolean {
  return head.length <= segments.length && head.every((s, i) => segments[i] === s);
}

const INTERNAL_SEGMENTS = INTERNAL_PREFIXES.map((internal) => ({
  ...internal,
  segments: comparableSegments(internal.prefix),
}));

/**
 * The internal prefix a key or folder of the store lies in or holds (`runs/x/model.json`,
 * `datasets/`, `''`), or null. Every spelling a store might read as the same place counts:
 * `%2F` and other escapes, case, `./`, `..`, doubled or trailing slashes.
 */
export function internalPrefixOf(keyOrFolder: string): { prefix: string; holds: string } | null {
  for (const form of decodings(keyOrFolder)) {
    const segments = comparableSegments(form);
    const hit = INTERNAL_SEGMENTS.find((i) => startsWith(segments, i.segments) || startsWith(i.segments, segments));
    if (hit) return { prefix: hit.prefix, holds: hit.holds };
  }
  return null;
}

/** Why `keyOrFolder` may not be read on a request's behalf, naming the internal prefix; null when it may. */
export function internalPrefixProblem(keyOrFolder: string): string | null {
  const internal = internalPrefixOf(keyOrFolder);
  return internal && `is in or holds ${internal.prefix}, where Trainyard keeps ${internal.holds}`;
}

/**
 * Why a dataset recorded at `prefix` may not be read: the same rule, except for one upload's own
 * folder (an upload registers it itself). Checked where a recorded dataset is read, so a row
 * written before registrations were checked cannot read every project's files either.
 */
export function recordedDatasetPrefixProblem(prefix: string): string | null {
  return isUploadFolder(prefix) ? null : internalPrefixProblem(prefix);
}

/**
 * The internal prefix a real local path lies in or holds when `store` is a local folder (the demo's
 * `.trainyard/objects`, which TRAINYARD_LOCAL_ROOTS may contain), or null. An S3 store has no
 * local path.
 */
export async function internalFolderOfPath(
  path: string,
  store: ObjectStore,
): Promise<{ prefix: string; holds: string } | null> {
  if (!(store instanceof LocalObjectStore)) return null;
  const root = await realpath(store.root).catch(() => store.root);
  // Case folded as in comparableSegments: a case-insensitive disk reads /X/OBJECTS as /x/objects.
  const fold = (p: string) => p.normalize('NFKC').toLowerCase();
  const rel = relative(fold(root), fold(path));
  if (isAbsolute(rel)) return null; // another drive
  if (rel === '..' || rel.startsWith(`..${sep}`)) {
    const holds = relative(fold(path), fold(root));
    return holds !== '..' && !holds.startsWith(`..${sep}`) && !isAbsolute(holds) ? INTERNAL_PREFIXES[0]! : null;
  }
  return internalPrefixOf(`${rel.split(sep).join('/')}/`);
}

/** internalFolderOfPath as a reason naming the folder, or null. */
export async function internalPathProblem(path: string, store: ObjectStore): Promise<string | null> {
  const internal = await internalFolderOfPath(path, store);
  return internal && `is in or holds the object store's ${internal.prefix}, where Trainyard keeps ${internal.holds}`;
}

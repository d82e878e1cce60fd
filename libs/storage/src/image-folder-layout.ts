import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { quoteText, textProblem } from '@trainyard/contracts';
import { imageNameProblem } from './image-file';
import { prefixProblem } from './object-key';
import { WalkBudget, type WalkLimits } from './folder-walk-limit.error';
import { InvalidImageFolderError } from './invalid-image-folder.error';
import { LocalObjectStore } from './local-object-store';
import type { ObjectStore } from './object-store';

/** The formats sharp decodes that people keep photos in; other files (README, .DS_Store) are ignored. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'] as const;

export interface ImageFile {
  /** Object key in the store (prefix included). */
  key: string;
  /** Index into `classNames`. */
  label: number;
  size: number;
}

export interface ImageFolderScan {
  /** The normalised prefix ('' or ending in '/'). */
  prefix: string;
  /** `store.uri(prefix)`: what errors and reports name. */
  folder: string;
  /** Subfolder names in code-point order (byCodePoint, as Keras's sorted(os.listdir)), so labels are stable. */
  classNames: string[];
  /** Every image file, class by class, sorted by key within a class. */
  files: ImageFile[];
  /** Image files per class, in `classNames` order. */
  counts: number[];
  /**
   * Files named as images whose name no image may have (imageNameProblem: a backslash, a control
   * character, …), left out of `files` and `counts`, with why: a load and a pack list them.
   */
  leftOut: LeftOutImage[];
}

/** A file of a folder left out of its images, and why (what a data report or a manifest lists). */
export interface LeftOutImage {
  file: string;
  reason: string;
}

/**
 * Folders that tools leave beside the classes and inside them: hidden ones (`.git`,
 * `.ipynb_checkpoints`, `.DS_Store`-style) and the resource forks macOS archives carry
 * (`__MACOSX`). They hold no picture anybody meant (Jupyter copies `cat/1.png` to
 * `cat/.ipynb_checkpoints/1-checkpoint.png`), so a folder scan (local or S3) and an upload leave
 * them out at any depth, whatever they hold: at the top they are no class.
 */
export function isToolFolder(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX';
}

/**
 * Whether a file of a folder is one of its images, by its path in the folder (`cat/x/1.png`) or in
 * its class folder: an image's name (isImageFileName) in no tool's folder (isToolFolder) at any
 * depth. The one rule of a folder scan, an upload and the sample images.
 */
export function isFolderImage(path: string): boolean {
  return isImageFileName(path) && !path.split('/').slice(0, -1).some(isToolFolder);
}

/**
 * Unicode code-point order (what Python's sorted() gives), not JS's UTF-16 order: `😀` (U+1F600)
 * sorts after `ｚ` (U+FF5A) although its first UTF-16 unit (U+D83D) is lower. UTF-8 bytes compare
 * in code-point order.
 */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Whether a file is an image of a class, by its name: one of IMAGE_EXTENSIONS, and not hidden (a
 * name starting with "."): macOS leaves `._photo.png` beside `photo.png` (AppleDouble metadata,
 * no image) on disks and in archives that are not its own. isFolderImage adds its folders.
 */
export function isImageFileName(key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1).toLowerCase();
  return !name.startsWith('.') && IMAGE_EXTENSIONS.some((ext) => name.endsWith(ext));
}

/**
 * Why a class folder's name cannot name a class, or null. It is stored, put in metric names and
 * failure reasons, and printed: a name with an escape sequence (an OSC 52 clipboard write) would
 * reach every terminal that shows it (textProblem). And every image of the class is read by an
 * object key that starts with it: a backslash, a separator on Windows, is refused in every key
 * (prefixProblem), so a class `a\b` registered fine but failed every run (no readable image).
 * Uploads refuse both, entry by entry (upload-entry.ts).
 */
function classNameProblem(name: string): string | null {
  const text = textProblem(name);
  if (text) return text;
  const key = prefixProblem(name);
  return key ? `${key}, which no object key may hold: none of its images could be read` : null;
}

/**
 * Two class folders whose names differ only in their Unicode spelling (`café` as U+00E9, and as
 * `e` + U+0301, as HFS+ and some archivers write names): they look the same, yet would be two
 * classes with two outputs. Names are compared after NFC normalization; null when no two are equal.
 */
function sameNameSpeltTwice(classNames: string[]): string | null {
  const byNfc = new Map<string, string>();
  for (const name of classNames) {
    const key = name.normalize('NFC');
    const other = byNfc.get(key);
    if (other !== undefined)
      return (
        `class folders ${quoteText(other)} (${escapedPastAscii(other)}) and ${quoteText(name)} (${escapedPastAscii(name)}) ` +
        'are one name spelt two ways in Unicode (equal once NFC-normalized): rename or merge them'
      );
    byNfc.set(key, name);
  }
  return null;
}

/** Every character past ASCII as a JS escape (`caf\u00e9`, `cafe\u0301`): what tells two look-alike names apart. */
function escapedPastAscii(name: string): string {
  return [...name]
    .map((c) => {
      const code = c.codePointAt(0)!;
      if (code < 0x80) return c;
      return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
    })
    .join('');
}

/**
 * Class folders that hold no object at all. Object stores have no empty folders (a prefix exists
 * only through its objects), but on disk an empty subfolder is a class the user meant to fill.
 */
async function emptyLocalFolders(
  store: ObjectStore,
  prefix: string,
  budget: WalkBudget | undefined,
): Promise<string[]> {
  if (!(store instanceof LocalObjectStore)) return [];
  const entries = await readdir(join(store.root, prefix), { withFileTypes: true }).catch(() => []);
  budget?.see(entries.length);
  return entries.filter((e) => e.isDirectory() && !isToolFolder(e.name)).map((e) => e.name);
}

/** Objects under the prefix; a local subfolder the server may not open refuses the folder, not the server. */
async function listObjects(store: ObjectStore, prefix: string, folder: string, limits: WalkLimits | undefined) {
  try {
    return await store.list(prefix, limits);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (store instanceof LocalObjectStore && (code === 'EACCES' || code === 'EPERM' || code === 'ELOOP')) {
      throw new InvalidImageFolderError(folder, 'a subfolder cannot be read by the server (permission denied)');
    }
    throw error;
  }
}

/**
 * Listing only, no decoding: the API checks a folder's layout with it at registration (it never
 * loads TensorFlow or sharp), and libs/datasets' loader starts from the same scan, so there is one
 * definition of a valid folder.
 *
 * Reads an image folder (one subfolder per class, images possibly nested deeper) through an
 * ObjectStore: a LocalObjectStore wrapping a local path, or S3 under a prefix. Tools' folders
 * (isToolFolder) are no classes. Refuses, naming the
 * folder and the reason, a folder with no class, a single class, a class without images, a
 * class whose folder name is not text (a control or bidirectional character) or holds a backslash,
 * or two class folders whose names are equal once NFC-normalized.
 * `limits` (config.paths, every caller in the fleet passes them) bound the listing: past them it
 * throws FolderWalkLimitError; without them the listing is unbounded.
 */
export async function scanImageFolder(
  store: ObjectStore,
  prefix: string,
  limits?: WalkLimits,
): Promise<ImageFolderScan> {
  const normalised = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const folder = store.uri(normalised);
  const byClass = new Map<string, { key: string; size: number }[]>();
  const leftOut: LeftOutImage[] = [];
  const top = limits ? new WalkBudget(folder, limits) : undefined;
  for (const name of await emptyLocalFolders(store, normalised, top)) byClass.set(name, []);
  for (const object of await listObjects(store, normalised, folder, limits)) {
    const relative = object.key.slice(normalised.length);
    const slash = relative.indexOf('/');
    if (slash <= 0) continue; // a file beside the class folders belongs to no class
    const className = relative.slice(0, slash);
    if (isToolFolder(className)) continue;
    const files = byClass.get(className) ?? [];
    byClass.set(className, files);
    // S3 consoles create `class/` marker objects for folders: they make the class exist, empty.
    if (object.key.endsWith('/') || !isFolderImage(relative)) continue;
    const badName = imageNameProblem(relative);
    if (badName) {
      leftOut.push({ file: object.key, reason: `left out: ${badName}` });
      continue;
    }
    files.push(object);
  }
  const classNames = [...byClass.keys()].sort(byCodePoint);
  for (const name of classNames) {
    const problem = classNameProblem(name);
    if (problem) throw new InvalidImageFolderError(folder, `class folder ${quoteText(name)}: ${problem}`);
  }
  const spelling = sameNameSpeltTwice(classNames);
  if (spelling) throw new InvalidImageFolderError(folder, spelling);
  if (classNames.length === 0) {
    throw new InvalidImageFolderError(
      folder,
      'it has no class subfolders (expected one subfolder of images per class)',
    );
  }
  if (classNames.length === 1) {
    throw new InvalidImageFolderError(
      folder,
      `it has a single class '${classNames[0]}'; a classifier needs at least two`,
    );
  }
  const empty = classNames.filter((c) => (byClass.get(c) ?? []).length === 0);
  if (empty.length > 0) {
    const list = empty.map((c) => `'${c}'`).join(', ');
    const what = empty.length === 1 ? `class ${list} has` : `classes ${list} have`;
    // A class emptied by bad names says so: "no images" alone would send a person looking for none.
    const named = leftOut.find((f) => empty.includes(f.file.slice(normalised.length).split('/')[0]));
    const why = named
      ? `; files named as images were left out for their names (${quoteText(named.file)}: ${named.reason})`
      : '';
    throw new InvalidImageFolderError(folder, `${what} no images (${IMAGE_EXTENSIONS.join(', ')})${why}`);
  }
  const files: ImageFile[] = [];
  const counts = classNames.map((name, label) => {
    // Still in UTF-16 order: position splits (split.assign 'position') and packs rank this listing
    // as they always did; a key split does not depend on it.
    const objects = (byClass.get(name) ?? []).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const o of objects) files.push({ key: o.key, label, size: o.size });
    return objects.length;
  });
  return { prefix: normalised, folder, classNames, files, counts, leftOut };
}

import { textProblem } from '@trainyard/contracts';
import {
  imageNameProblem,
  isFolderImage,
  isToolFolder,
  MAX_FILE_NAME_BYTES,
  MAX_IMAGE_FILE_BYTES,
  prefixProblem,
} from '@trainyard/storage';

/** The Content-Type of `POST /v1/datasets/uploads`: a tar of the folder (one subfolder per class). */
export const DATASET_UPLOAD_TYPE = 'application/x-tar';
const MAX_DEPTH = 16;

/** What to do with one entry of an uploaded tar. */
export type UploadEntryDecision =
  /** An image inside a class folder: stored at `<dataset prefix><path>`. */
  | { action: 'store'; path: string; classFolder: string }
  /**
   * A folder, a file that is no image or sits beside the class folders, or anything in a tool's
   * folder (isToolFolder): left out, as a folder scan would. `classFolder`: the top-level folder it is or lies in (none beside the folders),
   * which the upload must still find an image in, since the store keeps no empty folder.
   * `leftOut`: an image whose name below its class folder no image may have (imageNameProblem),
   * listed in the answer's `skipped` as the registration of a folder leaves it out.
   */
  | { action: 'skip'; classFolder?: string; leftOut?: { entry: string; reason: string } }
  /** The whole upload is refused: the entry could name a place outside the dataset, or is not a plain file. */
  | { action: 'refuse'; reason: string };

/**
 * Decides an entry of an uploaded tar from its header alone: its name must stay inside the
 * dataset's folder (no absolute path, `..`, `.` or empty segment, with `/` or `\` as the
 * separator; at most 16 levels), a class folder's name must be one a class may have (no
 * backslash, control character or lone surrogate, at most 255 bytes), and only plain files and
 * folders may appear — a link or device is refused rather than followed. An image whose own name
 * breaks the name rule (imageNameProblem) is left out and listed, not refused. `./` prefixes (what `tar -C dir .` writes)
 * are dropped.
 */
export function decideUploadEntry(header: {
  name: string;
  type?: string | null;
  size?: number | null;
}): UploadEntryDecision {
  const type = header.type ?? 'file';
  let name = header.name;
  while (name.startsWith('./')) name = name.slice(2);
  if (name === '' || name === '.') return { action: 'skip' };
  const shown = JSON.stringify(name.slice(0, 200));
  // tar-stream reads names as UTF-8, each byte that is not as U+FFFD: two Latin-1 names
  // (`caf\xe9.png`, `caf\xe8.png`) would become one, the later image silently replacing the other.
  if (name.includes('\uFFFD'))
    return {
      action: 'refuse',
      reason: `entry ${shown}: its name is not UTF-8 (the archive was written in another encoding: write it with UTF-8 names, as \`trainyard datasets upload\`, GNU tar in a UTF-8 locale or Python's tarfile do)`,
    };
  // Read with either separator, as an extractor on Windows would: `cat\\..\\..\\x.png` climbs out too.
  const problem = prefixProblem(name.replaceAll('\\', '/'));
  if (problem) return { action: 'refuse', reason: `entry ${shown}: ${problem}` };
  const segments = name.split('/').filter((s, i, all) => s !== '' || i < all.length - 1);
  if (segments.length > MAX_DEPTH)
    return { action: 'refuse', reason: `entry ${shown}: deeper than ${MAX_DEPTH} levels` };
  if (type !== 'directory' && type !== 'file' && type !== 'contiguous-file')
    return { action: 'refuse', reason: `entry ${shown}: a ${type}, not a plain file (links are not followed)` };
  // A tool's folder (`.git/`, `__MACOSX/`) is no class, as in a folder scan: nothing in it is stored or reported.
  if (isToolFolder(segments[0]!)) return { action: 'skip' };
  // A class folder's name (or a top-level file's) that no class may have refuses the upload, as
  // registration refuses such a folder.
  const top = textProblem(segments[0]!) ?? prefixProblem(segments[0]!);
  if (top) return { action: 'refuse', reason: `entry ${shown}: ${top}` };
  if (Buffer.byteLength(segments[0]!) > MAX_FILE_NAME_BYTES)
    return { action: 'refuse', reason: `entry ${shown}: a name longer than ${MAX_FILE_NAME_BYTES} bytes` };
  if (type === 'directory') return { action: 'skip', classFolder: segments[0] };
  if (segments.length < 2) return { action: 'skip' };
  const path = segments.join('/');
  // What is no image (a README, a video, macOS's `._photo.png`, anything in `cat/.ipynb_checkpoints/`)
  // is skipped whatever its size.
  if (!isFolderImage(path)) return { action: 'skip', classFolder: segments[0] };
  // An image whose name below its class folder no image may have: left out and listed, as a
  // registered folder's listing leaves it out (one file's name does not refuse the upload).
  const badName = imageNameProblem(path);
  if (badName)
    return { action: 'skip', classFolder: segments[0], leftOut: { entry: path, reason: `left out: ${badName}` } };
  if ((header.size ?? 0) > MAX_IMAGE_FILE_BYTES)
    return {
      action: 'refuse',
      reason: `entry ${shown}: ${header.size} bytes, over the ${MAX_IMAGE_FILE_BYTES}-byte limit per image`,
    };
  return { action: 'store', path: segments.join('/'), classFolder: segments[0] };
}

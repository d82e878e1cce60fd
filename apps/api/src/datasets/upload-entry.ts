import { textProblem } from '@trainyard/contracts';
import { isFolderImage, isToolFolder, MAX_IMAGE_FILE_BYTES, prefixProblem } from '@trainyard/storage';

/** The Content-Type of `POST /v1/datasets/uploads`: a tar of the folder (one subfolder per class). */
export const DATASET_UPLOAD_TYPE = 'application/x-tar';
const MAX_DEPTH = 16;
const MAX_SEGMENT_BYTES = 255;

/** What to do with one entry of an uploaded tar. */
export type UploadEntryDecision =
  /** An image inside a class folder: stored at `<dataset prefix><path>`. */
  | { action: 'store'; path: string; classFolder: string }
  /**
   * A folder, a file that is no image or sits beside the class folders, or anything in a tool's
   * folder (isToolFolder): left out, as a folder scan would. `classFolder`: the top-level folder it is or lies in (none beside the folders),
   * which the upload must still find an image in, since the store keeps no empty folder.
   */
  | { action: 'skip'; classFolder?: string }
  /** The whole upload is refused: the entry could name a place outside the dataset, or is not a plain file. */
  | { action: 'refuse'; reason: string };

/**
 * Decides an entry of an uploaded tar from its header alone: its name must stay inside the
 * dataset's folder (no absolute path, `..`, `.`, empty segment, backslash, control character or
 * lone surrogate; at most 16 levels of 255 bytes), and only plain files and folders may appear —
 * a link or device is refused rather than followed. `./` prefixes (what `tar -C dir .` writes)
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
  const text = textProblem(name);
  if (text) return { action: 'refuse', reason: `entry ${shown}: ${text}` };
  const problem = prefixProblem(name);
  if (problem) return { action: 'refuse', reason: `entry ${shown}: ${problem}` };
  const segments = name.split('/').filter((s, i, all) => s !== '' || i < all.length - 1);
  if (segments.length > MAX_DEPTH)
    return { action: 'refuse', reason: `entry ${shown}: deeper than ${MAX_DEPTH} levels` };
  if (segments.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES))
    return { action: 'refuse', reason: `entry ${shown}: a name longer than ${MAX_SEGMENT_BYTES} bytes` };
  if (type !== 'directory' && type !== 'file' && type !== 'contiguous-file')
    return { action: 'refuse', reason: `entry ${shown}: a ${type}, not a plain file (links are not followed)` };
  // A tool's folder (`.git/`, `__MACOSX/`) is no class, as in a folder scan: nothing in it is stored or reported.
  if (isToolFolder(segments[0]!)) return { action: 'skip' };
  if (type === 'directory') return { action: 'skip', classFolder: segments[0] };
  if (segments.length < 2) return { action: 'skip' };
  // What is no image (a README, a video, macOS's `._photo.png`, anything in `cat/.ipynb_checkpoints/`)
  // is skipped whatever its size.
  if (!isFolderImage(segments.join('/'))) return { action: 'skip', classFolder: segments[0] };
  if ((header.size ?? 0) > MAX_IMAGE_FILE_BYTES)
    return {
      action: 'refuse',
      reason: `entry ${shown}: ${header.size} bytes, over the ${MAX_IMAGE_FILE_BYTES}-byte limit per image`,
    };
  return { action: 'store', path: segments.join('/'), classFolder: segments[0] };
}

import type { CheckpointManifest } from '@trainyard/storage';
import { CliError, EXIT } from './exit-codes';

/**
 * libs/storage's CHECKPOINT_MANIFEST, written last in every checkpoint: its `files` list every
 * other file's sha256 and size. Only its type is imported: the `trainyard` commands are a client of
 * the API and load none of the server's libraries (@trainyard/storage would bring the S3 client).
 */
export const MANIFEST = 'manifest.json';

/** A file of a checkpoint as downloaded: its sha256, and whether the manifest listed it (and so it was checked). */
export interface ReceivedFile {
  file: string;
  bytes: number;
  sha256: string;
  verified: boolean;
}

/** The manifest's text checked to be one: a stack trace of JSON.parse would not say which file is damaged. */
export function parseManifest(text: string, where: string): CheckpointManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${where}: not valid JSON (${(error as Error).message})`, EXIT.CHECKSUM);
  }
  const files = (value as { files?: unknown } | null)?.files;
  const entries = typeof files === 'object' && files !== null && !Array.isArray(files) ? Object.values(files) : null;
  if (
    !entries?.every(
      (e: unknown) =>
        typeof (e as { sha256?: unknown })?.sha256 === 'string' && typeof (e as { bytes?: unknown }).bytes === 'number',
    )
  )
    throw new CliError(
      `${where}: not a checkpoint manifest (no "files" with each file's sha256 and bytes)`,
      EXIT.CHECKSUM,
    );
  return value as CheckpointManifest;
}

/** What the manifest says `file` must be, if it lists it (its own keys only: a file named `constructor` is not listed). */
export function listed(
  manifest: CheckpointManifest | null,
  file: string,
): CheckpointManifest['files'][string] | undefined {
  return manifest && Object.hasOwn(manifest.files, file) ? manifest.files[file] : undefined;
}

/** The files the manifest lists that did not arrive, in words; null when none is missing. */
export function missingFiles(manifest: CheckpointManifest | null, arrived: { file: string }[]): string | null {
  if (!manifest) return null;
  const got = new Set(arrived.map((f) => f.file));
  const missing = Object.keys(manifest.files).filter((f) => !got.has(f));
  if (missing.length === 0) return null;
  const named = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
  return `${MANIFEST} lists ${missing.length === 1 ? 'a file' : `${missing.length} files`} the checkpoint does not hold: ${named}`;
}

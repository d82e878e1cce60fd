import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { pack } from 'tar-stream';
import { formatBytes, TrainyardApiError } from '@trainyard/client';
import { terminalSafe } from '../terminal-safe';
import { printJson, type CommandContext } from './command';
import { CliError, EXIT, type ExitCode } from './exit-codes';

export interface FolderFile {
  /** Path inside the folder, with `/` separators: what the tar entry is named. */
  name: string;
  path: string;
  size: number;
}

/**
 * The plain files under `root`, sorted by name, and its top-level folders (the classes); links and
 * anything else that is no plain file are left out and counted (the server would refuse them in
 * the tar, and following them could send what lies outside the folder). The folders go in the tar
 * too, so that a class folder with no file in it reaches the server, which refuses it by name,
 * rather than vanishing from the dataset.
 */
export async function folderFiles(root: string): Promise<{ files: FolderFile[]; folders: string[]; leftOut: number }> {
  const info = await lstat(root).catch(() => null);
  if (!info?.isDirectory()) throw new CliError(`${root} is not a folder`, EXIT.USAGE);
  const files: FolderFile[] = [];
  const folders: string[] = [];
  let leftOut = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir === root) folders.push(entry.name);
        await walk(path);
      } else if (entry.isFile()) {
        const name = relative(root, path).split(sep).join('/');
        files.push({ name, path, size: (await lstat(path)).size });
      } else leftOut++;
    }
  };
  await walk(root);
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  files.sort((a, b) => byName(a.name, b.name));
  return { files, folders: folders.sort(byName), leftOut };
}

/**
 * The folders' entries, then the files, as a tar produced as it is read (one file open at a
 * time), reporting how many bytes of the tar have gone out.
 */
export function tarStream(
  files: FolderFile[],
  onBytes: (sent: number) => void,
  folders: string[] = [],
): ReadableStream<Uint8Array> {
  const tar = pack();
  void (async () => {
    for (const folder of folders) tar.entry({ name: `${folder}/`, type: 'directory' });
    for (const file of files) {
      const entry = tar.entry({ name: file.name, size: file.size, type: 'file' });
      await pipeline(createReadStream(file.path), entry);
    }
    tar.finalize();
  })().catch((error: Error) => tar.destroy(error));
  let sent = 0;
  const counted = tar.pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sent += chunk.length;
        onBytes(sent);
        done(null, chunk);
      },
    }),
  );
  tar.once('error', (error) => counted.destroy(error));
  return Readable.toWeb(counted) as ReadableStream<Uint8Array>;
}

/** Bytes the tar of `files` and `folders` will take: a 512-byte header per entry, contents padded to 512, two empty blocks at the end. */
export function tarSize(files: FolderFile[], folders = 0): number {
  return files.reduce((total, f) => total + 512 + Math.ceil(f.size / 512) * 512, 1024 + 512 * folders);
}

/** `trainyard datasets upload NAME DIR`: the folder streamed as a tar, with a progress line on a terminal. */
export async function uploadFolder(ctx: CommandContext, name: string, dir: string): Promise<ExitCode> {
  const { files, folders, leftOut } = await folderFiles(dir);
  if (files.length === 0) throw new CliError(`${dir} holds no file to upload`, EXIT.USAGE);
  const total = tarSize(files, folders.length);
  const showProgress = ctx.stdoutIsTty && !ctx.json;
  const view = await withUploadPlace(ctx, () => {
    // A stream is sent once: each try tars the folder again.
    const body = tarStream(
      files,
      (sent) => {
        if (showProgress) ctx.redraw(`uploading ${files.length} files  ${formatBytes(sent)} / ~${formatBytes(total)}`);
      },
      folders,
    );
    return ctx.client().uploadDataset(name, body, { signal: ctx.signal });
  });
  if (showProgress) ctx.out('\n');
  if (leftOut) ctx.err(`left out ${leftOut} entries that are no plain files (links are not followed)\n`);
  if (view.skippedCount > 0) {
    ctx.err(`left out ${view.skippedCount} files named as images that are none:\n`);
    for (const { entry, reason } of view.skipped) ctx.err(`  ${terminalSafe(`${entry}: ${reason}`)}\n`);
    if (view.skippedCount > view.skipped.length) ctx.err(`  … and ${view.skippedCount - view.skipped.length} more\n`);
  }
  if (ctx.json) printJson(ctx, view);
  else
    ctx.out(
      `uploaded ${view.name} (${view.id}): ${view.images} images in ${view.classNames.length} classes at ${view.uri}\n`,
    );
  return EXIT.OK;
}

/** How long `datasets upload` waits for a place in all (each wait the server's Retry-After), before the 429 stands. */
export const UPLOAD_PLACE_PATIENCE_MS = 10 * 60_000;

/**
 * `upload()` tried until the API has a place for it: a 429 (every upload place of the key, its
 * project or the server taken, or the key's request budget spent) is answered before any byte is
 * stored, so the folder is sent again after the server's Retry-After (15 s for upload places),
 * saying so on stderr, for up to UPLOAD_PLACE_PATIENCE_MS; then the 429 stands.
 */
async function withUploadPlace<T>(
  ctx: CommandContext,
  upload: () => Promise<T>,
  patienceMs = UPLOAD_PLACE_PATIENCE_MS,
): Promise<T> {
  const until = Date.now() + patienceMs;
  for (;;) {
    try {
      return await upload();
    } catch (error) {
      if (!(error instanceof TrainyardApiError) || error.status !== 429) throw error;
      const asked = error.body?.['retryAfterSeconds'];
      const waitMs = (typeof asked === 'number' && asked > 0 ? asked : 15) * 1000;
      if (Date.now() + waitMs > until) throw error;
      ctx.err(`${terminalSafe(error.detail)}: sending the folder again in ${waitMs / 1000} s\n`);
      await sleep(waitMs, undefined, { signal: ctx.signal });
    }
  }
}

import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { CHECKPOINT_MANIFEST } from '@trainyard/storage';
import { pack as tarPack, type Pack } from 'tar-stream';

/** What a checkpoint's folder holds, as the store lists it. */
export interface ArchivedFile {
  /** Path inside the checkpoint, e.g. `classifier/model.json`. */
  file: string;
  bytes: number;
}

const BLOCK = 512;

/** The manifest first (a reader checks every later file against it as it arrives), then the rest by name. */
export function archiveOrder(files: ArchivedFile[]): ArchivedFile[] {
  return [...files].sort(
    (a, b) =>
      Number(b.file === CHECKPOINT_MANIFEST) - Number(a.file === CHECKPOINT_MANIFEST) ||
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0),
  );
}

/**
 * The exact length of the tar that `streamTar` writes, when every entry name fits a plain ustar
 * header (≤ 100 bytes): a 512-byte header per file, its data padded to 512, two zero blocks at
 * the end. Null otherwise (a longer name adds a pax header): the body then goes out chunked.
 */
export function tarLength(folder: string, files: ArchivedFile[]): number | null {
  let total = 2 * BLOCK;
  for (const { file, bytes } of files) {
    if (Buffer.byteLength(`${folder}/${file}`) > 100) return null;
    total += BLOCK + Math.ceil(bytes / BLOCK) * BLOCK;
  }
  return total;
}

/**
 * A tar of `files` under `folder/`, produced as the consumer reads it: each file is opened only
 * when its turn comes and copied through with backpressure (a write that fills the pack's buffer
 * waits for it to drain), so memory holds a few chunks, never a whole checkpoint. A file whose
 * stream delivers other than its listed size fails the archive (tar-stream refuses the entry).
 */
export function streamTar(
  folder: string,
  files: ArchivedFile[],
  open: (file: string) => Promise<Readable>,
  mtime = new Date(),
): Pack {
  const pack = tarPack();
  // A reader that goes away (the client closed the download) destroys the pack: stop at once.
  let closed = false;
  const gone = new Promise<void>((resolve) => pack.once('close', () => ((closed = true), resolve())));
  void (async () => {
    for (const { file, bytes } of files) {
      if (closed) return;
      const body = await open(file);
      let finish!: (error?: Error | null) => void;
      const written = new Promise<void>((resolve, reject) => {
        finish = (error) => (error ? reject(error) : resolve());
      });
      // A reader that goes mid-file errors the entry after the loop below has returned, with nothing
      // awaiting this: left unhandled, that rejection ended the API process.
      written.catch(() => undefined);
      const entry = pack.entry({ name: `${folder}/${file}`, size: bytes, mode: 0o644, mtime, type: 'file' }, finish);
      // A size mismatch (or the pack destroyed) errors the entry: the archive fails with it.
      entry.on('error', finish);
      try {
        for await (const chunk of body) {
          if (closed) return;
          if (!entry.write(chunk as Buffer)) await Promise.race([once(entry, 'drain'), gone]);
        }
      } finally {
        body.destroy();
      }
      entry.end(null); // no last chunk (streamx types ask for an argument)
      await Promise.race([written, gone]);
    }
    if (!closed) pack.finalize();
  })().catch((error: Error) => pack.destroy(error));
  return pack;
}

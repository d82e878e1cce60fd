import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, linkSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { formatBytes, type TrainyardClient } from '@trainyard/client';
import type { CheckpointManifest } from '@trainyard/storage';
import { extract } from 'tar-stream';
import { MANIFEST, listed, missingFiles, parseManifest, type ReceivedFile } from './checkpoint-manifest';
import { printJson, str, type CommandContext } from './command';
import { CliError, EXIT, type ExitCode } from './exit-codes';
import { LocalFileInTheWay, statIfThere } from './local-file-error';
import { removeStaleParts } from './stale-parts';

/**
 * `download --archive`: GET …/archive streamed to a .tar file and, through the same chunks, into a
 * tar reader that hashes every file against the manifest (the archive's first entry) as it
 * arrives, so nothing is read twice and nothing is held whole in memory.
 */
export async function downloadArchive(
  ctx: CommandContext,
  client: TrainyardClient,
  id: string,
  sequence: number,
): Promise<ExitCode> {
  const out = str(ctx, 'out');
  const named = resolve(out ?? '.');
  // A trailing slash names a folder, there or not yet, as cp and rsync read it (resolve drops it).
  const folder = out === undefined || out.endsWith('/') || out.endsWith(sep) || statIfThere(named)?.isDirectory();
  const target = folder ? join(named, `${id.slice(0, 8)}-ckpt${sequence}.tar`) : named;
  const force = ctx.values['force'] === true;
  // An earlier download is the user's: refused before anything is fetched, unless --force.
  if (!force && statIfThere(target)) throw archiveInTheWay(target);
  mkdirSync(dirname(target), { recursive: true });
  removeStaleParts(ctx, target);
  const response = await client.downloadCheckpointArchive(id, sequence, { signal: ctx.signal });
  const total = Number(response.headers.get('content-length') ?? NaN);
  const showProgress = ctx.stdoutIsTty && !ctx.json;
  const reader = extract();
  let received = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (showProgress)
        ctx.redraw(`${target}  ${formatBytes(received)}${Number.isFinite(total) ? ` / ${formatBytes(total)}` : ''}`);
      if (reader.write(chunk)) return done(null, chunk);
      // A reader that fails while full never drains: its close lets the chunk go on, and its
      // failure (below) stops the download.
      const go = () => {
        reader.off('drain', go);
        reader.off('close', go);
        done(null, chunk);
      };
      reader.on('drain', go);
      reader.on('close', go);
    },
    flush(done) {
      reader.end(null);
      done();
    },
  });
  // A damaged archive (a bad header, a manifest that does not parse, a short body) ends the
  // download at once, exit 5, rather than after the rest of the body.
  const checked = verifyEntries(reader, target).catch((error: unknown) => {
    throw error instanceof CliError
      ? error
      : new CliError(`${target}: not a readable checkpoint archive: ${(error as Error).message}`, EXIT.CHECKSUM);
  });
  checked.catch((error: Error) => tee.destroy(error));
  // Written as `.part-XXXXXX` (its own: two downloads at once never write one file), under its
  // name only once every entry is verified (removed on failure).
  const part = `${target}.part-${randomBytes(3).toString('hex')}`;
  const { files, manifest } = await discardOnFailure(part, async () => {
    await pipeline(Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>), tee, createWriteStream(part), {
      signal: ctx.signal,
    }).catch((error: unknown) => {
      reader.destroy(); // a body that failed (dropped, interrupted) leaves the reader nothing to wait for
      throw error;
    });
    ctx.endLine();
    const verified = await checked;
    if (verified.mismatch) throw new CliError(`${target}: ${verified.mismatch}`, EXIT.CHECKSUM);
    putInPlace(part, target, force);
    return verified;
  });
  const verified = files.filter((f) => f.verified).length;
  if (ctx.json) return (printJson(ctx, { runId: id, sequence, archive: target, bytes: received, files }), EXIT.OK);
  ctx.out(`checkpoint #${sequence} of run ${id}: ${files.length} files, ${formatBytes(received)} in ${target}\n`);
  ctx.out(
    manifest
      ? `sha256 verified against manifest.json: ${verified} of ${files.length - 1} files\n`
      : 'no manifest.json: nothing to verify against\n',
  );
  return EXIT.OK;
}

/** Every entry of the tar hashed as it streams by, each checked against the manifest read first. */
async function verifyEntries(
  reader: ReturnType<typeof extract>,
  target: string,
): Promise<{
  files: ReceivedFile[];
  manifest: CheckpointManifest | null;
  mismatch: string | null;
}> {
  const files: ReceivedFile[] = [];
  let manifest: CheckpointManifest | null = null;
  let mismatch: string | null = null;
  for await (const entry of reader) {
    // Names are `<run>-ckpt<N>/<file>`: the file is what follows the first folder.
    const file = entry.header.name.slice(entry.header.name.indexOf('/') + 1);
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of entry) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (file === MANIFEST && bytes <= 16 * 1024 * 1024) kept.push(chunk as Buffer);
    }
    const sha256 = hash.digest('hex');
    if (file === MANIFEST && files.length === 0)
      manifest = parseManifest(Buffer.concat(kept).toString('utf8'), `${MANIFEST} in ${target}`);
    const expected = file !== MANIFEST ? listed(manifest, file) : undefined;
    if (expected && (expected.sha256 !== sha256 || expected.bytes !== bytes) && !mismatch)
      mismatch = `${file}: sha256 ${sha256} (${bytes} bytes), the manifest says ${expected.sha256} (${expected.bytes} bytes)`;
    files.push({ file, bytes, sha256, verified: expected !== undefined });
  }
  return { files, manifest, mismatch: mismatch ?? missingFiles(manifest, files) };
}

const archiveInTheWay = (target: string) =>
  new LocalFileInTheWay('write', target, '--force replaces it, or name another file with --out');

/**
 * The verified archive under its name. Without --force, a hard link (which, unlike rename, fails
 * rather than replaces) keeps a file that appeared there meanwhile, another download's say; a file
 * system without hard links gets the check and the rename.
 */
function putInPlace(part: string, target: string, force: boolean): void {
  if (force) return renameSync(part, target);
  try {
    linkSync(part, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw archiveInTheWay(target);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw error;
    if (statIfThere(target)) throw archiveInTheWay(target);
    return renameSync(part, target);
  }
  rmSync(part, { force: true });
}

/** Runs `write`, which writes `part`; when it fails, `part` is removed (never a partial file left looking whole). */
async function discardOnFailure<T>(part: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    rmSync(part, { force: true });
    throw error;
  }
}

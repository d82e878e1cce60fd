import { createHash, randomBytes } from 'node:crypto';
import {
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { TrainyardClient } from '@trainyard/client';
import type { CheckpointManifest } from '@trainyard/storage';
import { extract } from 'tar-stream';
import { formatBytes } from '../progress-line';
import { arg, int, printJson, str, type Command, type CommandContext } from './command';
import { CliError, EXIT, usageError } from './exit-codes';

/**
 * libs/storage's CHECKPOINT_MANIFEST, written last in every checkpoint: its `files` list every
 * other file's sha256 and size. Only its type is imported: the `trainyard` commands are a client of
 * the API and load none of the server's libraries (@trainyard/storage would bring the S3 client).
 */
const MANIFEST = 'manifest.json';

export const downloadCommand: Command = {
  name: 'download',
  usage: '<run>',
  maxArgs: 1,
  summary:
    "Download a checkpoint's files (streamed), each checked against the sha256 its manifest lists; or the whole checkpoint as one tar (--archive).",
  options: { checkpoint: { type: 'string' }, out: { type: 'string', short: 'o' }, archive: { type: 'boolean' } },
  optionHelp: {
    checkpoint: 'sequence number (default: the latest complete)',
    out: 'a new or empty folder (default ./<first 8 characters of the run id>-ckpt<N>); with --archive the .tar file, or a folder to put it in (an existing one, or one ending in /)',
    archive: 'one .tar of the checkpoint (manifest.json first), verified against the manifest as it arrives',
  },
  async run(ctx) {
    const id = arg(ctx, 0, 'run id');
    const archive = ctx.values['archive'] === true;
    const out = str(ctx, 'out');
    // An --out that would be refused is refused before anything is asked of the API.
    if (!archive && out !== undefined) checkFreeFolder(resolve(out), true);
    const client = ctx.client();
    let sequence = int(ctx, 'checkpoint');
    if (sequence === undefined) {
      const latest = (await client.checkpoints(id, { signal: ctx.signal })).checkpoints
        .filter((c) => c.status === 'COMPLETE')
        .at(-1);
      if (!latest) throw new CliError(`Run ${id} has no complete checkpoint`, EXIT.API);
      sequence = latest.sequence;
    }
    if (archive) return downloadArchive(ctx, client, id, sequence);
    const outDir = resolve(out ?? `${id.slice(0, 8)}-ckpt${sequence}`);
    if (out === undefined) checkFreeFolder(outDir, false);
    const { files } = await client.checkpointFiles(id, sequence, { signal: ctx.signal });
    mkdirSync(dirname(outDir), { recursive: true });
    // Every file goes into a folder of its own beside outDir, which takes outDir's name only once
    // all are verified: a download that fails or is interrupted leaves nothing that looks like a
    // checkpoint, and two downloads at once never write into each other's files.
    const staging = mkdtempSync(`${outDir}.part-`);
    try {
      const { written, manifest, received } = await fetchFiles(ctx, client, { id, sequence, files, staging, outDir });
      moveIntoPlace(staging, outDir);
      if (ctx.json) return (printJson(ctx, { runId: id, sequence, out: outDir, files: written }), EXIT.OK);
      const verified = written.filter((f) => f.verified).length;
      ctx.out(`checkpoint #${sequence} of run ${id}: ${written.length} files, ${formatBytes(received)} in ${outDir}\n`);
      ctx.out(
        manifest
          ? `sha256 verified against manifest.json: ${verified} of ${written.length - 1} files\n`
          : 'no manifest.json: nothing to verify against\n',
      );
      return EXIT.OK;
    } finally {
      rmSync(staging, { recursive: true, force: true }); // gone already once moved into place
    }
  },
};

/** A file of a checkpoint as downloaded: its sha256, and whether the manifest listed it (and so it was checked). */
interface ReceivedFile {
  file: string;
  bytes: number;
  sha256: string;
  verified: boolean;
}

/**
 * The checkpoint's files, the manifest first (it says what every other file must hash to), each
 * streamed into `staging` and checked against it; files are named in errors as they would be in
 * `outDir`. Exit 5 on the first mismatch, or when a file the manifest lists is missing.
 */
async function fetchFiles(
  ctx: CommandContext,
  client: TrainyardClient,
  at: { id: string; sequence: number; files: { file: string; bytes: number }[]; staging: string; outDir: string },
): Promise<{ written: ReceivedFile[]; manifest: CheckpointManifest | null; received: number }> {
  const { id, sequence, staging, outDir } = at;
  const ordered = [...at.files].sort((a, b) => Number(b.file === MANIFEST) - Number(a.file === MANIFEST));
  const total = at.files.reduce((n, f) => n + f.bytes, 0);
  let received = 0;
  let manifest: CheckpointManifest | null = null;
  const written: ReceivedFile[] = [];
  const showProgress = ctx.stdoutIsTty && !ctx.json;
  for (const { file } of ordered) {
    const target = resolve(staging, file);
    if (!target.startsWith(staging + sep)) throw usageError(`Refusing a file name outside ${outDir}: ${file}`);
    mkdirSync(dirname(target), { recursive: true });
    const response = await client.downloadCheckpointFile(id, sequence, file, { signal: ctx.signal });
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        received += chunk.length;
        if (showProgress) ctx.redraw(`${file}  ${formatBytes(received)} / ${formatBytes(total)}`);
        done(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>),
      meter,
      createWriteStream(target),
      { signal: ctx.signal },
    );
    const sha256 = hash.digest('hex');
    if (file === MANIFEST) manifest = parseManifest(readFileSync(target, 'utf8'), join(outDir, file));
    const expected = listed(manifest, file);
    if (expected && (expected.sha256 !== sha256 || expected.bytes !== bytes))
      throw new CliError(
        `${join(outDir, file)}: sha256 ${sha256} (${bytes} bytes), the manifest says ${expected.sha256} (${expected.bytes} bytes)`,
        EXIT.CHECKSUM,
      );
    written.push({ file, bytes, sha256, verified: expected !== undefined });
  }
  ctx.endLine();
  const missing = missingFiles(manifest, written);
  if (missing) throw new CliError(`${outDir}: ${missing}`, EXIT.CHECKSUM);
  return { written, manifest, received };
}

/**
 * A usage error, before anything is fetched, unless `dir` is free for a checkpoint: not there yet,
 * or an empty folder. The files of two checkpoints in one folder would pass for one.
 */
function checkFreeFolder(dir: string, named: boolean): void {
  const info = statIfThere(dir);
  if (!info) return;
  const which = named ? `--out ${dir}` : `${dir} (the default folder)`;
  if (!info.isDirectory()) throw usageError(`${which} is a file, not a folder`, '--out');
  const entries = readdirSync(dir).length;
  if (entries > 0)
    throw usageError(
      `${which} is not empty (${entries} ${entries === 1 ? 'entry' : 'entries'}): a checkpoint's files would mix with what is there; name a new or empty folder with --out`,
      '--out',
    );
}

/** The verified checkpoint's folder renamed to `outDir`: refused, rather than merged, when something filled it meanwhile. */
function moveIntoPlace(staging: string, outDir: string): void {
  try {
    renameSync(staging, outDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    throw new CliError(
      `${outDir} was filled while the checkpoint downloaded (another download into it?): its files were verified, not kept`,
      EXIT.LOCAL_IO,
      [{ field: '--out', message: `${outDir} is not empty` }],
    );
  }
}

/**
 * `download --archive`: GET …/archive streamed to a .tar file and, through the same chunks, into a
 * tar reader that hashes every file against the manifest (the archive's first entry) as it
 * arrives, so nothing is read twice and nothing is held whole in memory.
 */
async function downloadArchive(
  ctx: CommandContext,
  client: TrainyardClient,
  id: string,
  sequence: number,
): Promise<(typeof EXIT)[keyof typeof EXIT]> {
  const out = str(ctx, 'out');
  const named = resolve(out ?? '.');
  // A trailing slash names a folder, there or not yet, as cp and rsync read it (resolve drops it).
  const folder = out === undefined || out.endsWith('/') || out.endsWith(sep) || statIfThere(named)?.isDirectory();
  const target = folder ? join(named, `${id.slice(0, 8)}-ckpt${sequence}.tar`) : named;
  mkdirSync(dirname(target), { recursive: true });
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
    renameSync(part, target);
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
  files: { file: string; bytes: number; sha256: string; verified: boolean }[];
  manifest: CheckpointManifest | null;
  mismatch: string | null;
}> {
  const files: { file: string; bytes: number; sha256: string; verified: boolean }[] = [];
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

/** What is at `path`, or undefined when nothing is (a part of the path missing, or a file: creating it says why). */
function statIfThere(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
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

/** The manifest's text checked to be one: a stack trace of JSON.parse would not say which file is damaged. */
function parseManifest(text: string, where: string): CheckpointManifest {
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
function listed(manifest: CheckpointManifest | null, file: string): CheckpointManifest['files'][string] | undefined {
  return manifest && Object.hasOwn(manifest.files, file) ? manifest.files[file] : undefined;
}

/** The files the manifest lists that did not arrive, in words; null when none is missing. */
function missingFiles(manifest: CheckpointManifest | null, arrived: { file: string }[]): string | null {
  if (!manifest) return null;
  const got = new Set(arrived.map((f) => f.file));
  const missing = Object.keys(manifest.files).filter((f) => !got.has(f));
  if (missing.length === 0) return null;
  const named = missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
  return `${MANIFEST} lists ${missing.length === 1 ? 'a file' : `${missing.length} files`} the checkpoint does not hold: ${named}`;
}

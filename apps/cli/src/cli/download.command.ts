import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { formatBytes, type TrainyardClient } from '@trainyard/client';
import type { CheckpointManifest } from '@trainyard/storage';
import { downloadArchive } from './checkpoint-archive';
import { MANIFEST, listed, missingFiles, parseManifest, type ReceivedFile } from './checkpoint-manifest';
import { int, PG_INT_MAX, printJson, str, type Command, type CommandContext } from './command';
import { CliError, EXIT, usageError } from './exit-codes';
import { statIfThere } from './local-file-error';
import { removeStaleParts } from './stale-parts';
import { RECONNECT_DELAYS_MS, ReconnectBudget } from './connection-lost';
import { runIdArg } from './run-id-arg';

/** Pauses before a file a dropped connection cut short is asked for again (see ReconnectBudget; the specs shorten them). */
export interface DownloadTiming {
  reconnectDelaysMs: readonly number[];
}

/** `download`, with its timings given. */
export function downloadCommandWith(timing: DownloadTiming): Command {
  return {
    name: 'download',
    usage: '<run>',
    maxArgs: 1,
    summary:
      "Download a checkpoint's files (streamed), each checked against the sha256 its manifest lists; or the whole checkpoint as one tar (--archive).",
    options: {
      checkpoint: { type: 'string' },
      out: { type: 'string', short: 'o' },
      archive: { type: 'boolean' },
      force: { type: 'boolean' },
    },
    optionHelp: {
      checkpoint: 'sequence number (default: the latest complete)',
      out: 'a new or empty folder (default ./<first 8 characters of the run id>-ckpt<N>); with --archive the .tar file, or a folder to put it in (an existing one, or one ending in /)',
      archive: 'one .tar of the checkpoint (manifest.json first), verified against the manifest as it arrives',
      force: 'with --archive, replace a .tar already there (else refused, exit 7); without it, a usage error',
    },
    async run(ctx) {
      const archive = ctx.values['archive'] === true;
      const out = str(ctx, 'out');
      // An --out that would be refused is refused before anything is asked of the API.
      if (!archive && out !== undefined) checkFreeFolder(resolve(out), true);
      // A folder is never replaced: --force would promise what download does not do.
      if (!archive && ctx.values['force'] === true)
        throw usageError('--force goes with --archive (a folder download never replaces a folder)', '--force');
      const id = await runIdArg(ctx, 0);
      const client = ctx.client();
      let sequence = int(ctx, 'checkpoint', { min: 0, max: PG_INT_MAX, what: 'a checkpoint sequence' });
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
      removeStaleParts(ctx, outDir);
      // Every file goes into a folder of its own beside outDir, which takes outDir's name only once
      // all are verified: a download that fails or is interrupted leaves nothing that looks like a
      // checkpoint, and two downloads at once never write into each other's files.
      const staging = mkdtempSync(`${outDir}.part-`);
      try {
        const { written, manifest, received } = await fetchFiles(
          ctx,
          client,
          { id, sequence, files, staging, outDir },
          timing,
        );
        moveIntoPlace(staging, outDir);
        if (ctx.json) return (printJson(ctx, { runId: id, sequence, out: outDir, files: written }), EXIT.OK);
        const verified = written.filter((f) => f.verified).length;
        ctx.out(
          `checkpoint #${sequence} of run ${id}: ${written.length} files, ${formatBytes(received)} in ${outDir}\n`,
        );
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
}

export const downloadCommand: Command = downloadCommandWith({ reconnectDelaysMs: RECONNECT_DELAYS_MS });

/**
 * The checkpoint's files, the manifest first (it says what every other file must hash to), each
 * streamed into `staging` and checked against it; files are named in errors as they would be in
 * `outDir`. Exit 5 on the first mismatch, or when a file the manifest lists is missing.
 */
async function fetchFiles(
  ctx: CommandContext,
  client: TrainyardClient,
  at: { id: string; sequence: number; files: { file: string; bytes: number }[]; staging: string; outDir: string },
  timing: DownloadTiming,
): Promise<{ written: ReceivedFile[]; manifest: CheckpointManifest | null; received: number }> {
  const { id, sequence, staging, outDir } = at;
  const ordered = [...at.files].sort((a, b) => Number(b.file === MANIFEST) - Number(a.file === MANIFEST));
  const total = at.files.reduce((n, f) => n + f.bytes, 0);
  let received = 0;
  let manifest: CheckpointManifest | null = null;
  const written: ReceivedFile[] = [];
  const showProgress = ctx.stdoutIsTty && !ctx.json;
  const reconnects = new ReconnectBudget(timing.reconnectDelaysMs);
  for (const { file, bytes: size } of ordered) {
    const target = resolve(staging, file);
    if (!target.startsWith(staging + sep)) throw usageError(`Refusing a file name outside ${outDir}: ${file}`);
    mkdirSync(dirname(target), { recursive: true });
    const before = received;
    const { bytes, sha256 } = await fetchFile(
      ctx,
      client,
      { id, sequence, file, size, target },
      reconnects,
      (onDisk) => {
        received = before + onDisk;
        if (showProgress) ctx.redraw(`${file}  ${formatBytes(received)} / ${formatBytes(total)}`);
      },
    );
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
 * One file streamed into `target`, hashed as it comes; `progress` is told the bytes on disk. A
 * connection that drops mid-file (the API restarted, a proxy gave up) is picked up where the file
 * stopped, after the pauses of `reconnects` (`logs -f`'s): the bytes on disk are kept (and hashed
 * again) and only the rest is asked for (`Range`); a server that answers with the whole file instead
 * starts it over. Anything else (an API error, the local disk failing, Ctrl-C) ends the download.
 */
async function fetchFile(
  ctx: CommandContext,
  client: TrainyardClient,
  at: { id: string; sequence: number; file: string; size: number; target: string },
  reconnects: ReconnectBudget,
  progress: (onDisk: number) => void,
): Promise<{ bytes: number; sha256: string }> {
  const { id, sequence, file, size, target } = at;
  // Bytes count as progress only past the furthest this file has reached: a server that drops the
  // connection at the same byte each time, whole file or range, spends the pauses and ends it.
  let furthest = 0;
  for (let from = 0; ; from = statIfThere(target)?.size ?? 0) {
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      // Every byte listed was on disk when the connection dropped: nothing left to ask for.
      const response =
        from > 0 && from === size
          ? null
          : await client.downloadCheckpointFile(id, sequence, file, { signal: ctx.signal, from });
      if (response) reconnects.opened();
      if (from > 0 && (response === null || rangeStart(response) === from)) {
        for await (const chunk of createReadStream(target)) hash.update(chunk as Buffer);
        bytes = from;
      }
      if (response === null) return { bytes, sha256: hash.digest('hex') };
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          progress(bytes);
          if (bytes > furthest) {
            furthest = bytes;
            reconnects.progressed();
          }
          done(null, chunk);
        },
      });
      await pipeline(
        Readable.fromWeb(response.body! as WebReadableStream<Uint8Array>),
        meter,
        createWriteStream(target, { flags: bytes > 0 ? 'a' : 'w' }),
        { signal: ctx.signal },
      );
      return { bytes, sha256: hash.digest('hex') };
    } catch (error) {
      ctx.endLine();
      await reconnects.afterDrop(error, ctx.signal, (text) =>
        ctx.err(`trainyard: ${file}: ${text.replace('; reconnecting in', '; the rest asked for again in')}`),
      );
    }
  }
}

/** Where a `206` answer's bytes start (`content-range: bytes a-b/n`); null for any other answer. */
function rangeStart(response: Response): number | null {
  if (response.status !== 206) return null;
  const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : null;
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

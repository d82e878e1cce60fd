import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { arg, int, printJson, str, type Command } from './command';
import { CliError, EXIT, usageError } from './exit-codes';

/** What a checkpoint's manifest.json lists (libs/storage writes it): every file's sha256 and size. */
interface CheckpointManifest {
  files: Record<string, { sha256: string; bytes: number }>;
}

const MANIFEST = 'manifest.json';

export const downloadCommand: Command = {
  name: 'download',
  usage: '<run>',
  summary: "Download a checkpoint's files (streamed), each checked against the sha256 its manifest lists.",
  options: { checkpoint: { type: 'string' }, out: { type: 'string', short: 'o' } },
  optionHelp: {
    checkpoint: 'sequence number (default: the latest complete)',
    out: 'folder (default ./<run id>-ckpt<N>)',
  },
  async run(ctx) {
    const id = arg(ctx, 0, 'run id');
    const client = ctx.client();
    let sequence = int(ctx, 'checkpoint');
    if (sequence === undefined) {
      const latest = (await client.checkpoints(id, { signal: ctx.signal })).checkpoints
        .filter((c) => c.status === 'COMPLETE')
        .at(-1);
      if (!latest) throw new CliError(`Run ${id} has no complete checkpoint`, EXIT.API);
      sequence = latest.sequence;
    }
    const outDir = resolve(str(ctx, 'out') ?? `${id.slice(0, 8)}-ckpt${sequence}`);
    const { files } = await client.checkpointFiles(id, sequence, { signal: ctx.signal });
    // The manifest first: it says what every other file must hash to.
    const ordered = [...files].sort((a, b) => Number(b.file === MANIFEST) - Number(a.file === MANIFEST));
    const total = files.reduce((n, f) => n + f.bytes, 0);
    let received = 0;
    let manifest: CheckpointManifest | null = null;
    const written: { file: string; bytes: number; sha256: string; verified: boolean }[] = [];
    const showProgress = ctx.stdoutIsTty && !ctx.json;
    for (const { file } of ordered) {
      const target = resolve(outDir, file);
      if (!target.startsWith(outDir + sep)) throw usageError(`Refusing a file name outside ${outDir}: ${file}`);
      mkdirSync(dirname(target), { recursive: true });
      const response = await client.downloadCheckpointFile(id, sequence, file, { signal: ctx.signal });
      const hash = createHash('sha256');
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          received += chunk.length;
          if (showProgress) ctx.out(`\r\x1b[2K${file}  ${formatBytes(received)} / ${formatBytes(total)}`);
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
      if (file === MANIFEST) manifest = JSON.parse(readFileSync(target, 'utf8')) as CheckpointManifest;
      const expected = manifest?.files[file];
      if (expected && (expected.sha256 !== sha256 || expected.bytes !== bytes)) {
        if (showProgress) ctx.out('\n');
        throw new CliError(
          `${join(outDir, file)}: sha256 ${sha256} (${bytes} bytes), the manifest says ${expected.sha256} (${expected.bytes} bytes)`,
          EXIT.CHECKSUM,
        );
      }
      written.push({ file, bytes, sha256, verified: expected !== undefined });
    }
    if (showProgress) ctx.out('\n');
    if (ctx.json) return (printJson(ctx, { runId: id, sequence, out: outDir, files: written }), EXIT.OK);
    const verified = written.filter((f) => f.verified).length;
    ctx.out(`checkpoint #${sequence} of run ${id}: ${written.length} files, ${formatBytes(received)} in ${outDir}\n`);
    ctx.out(
      manifest
        ? `sha256 verified against manifest.json: ${verified} of ${written.length - 1} files\n`
        : 'no manifest.json: nothing to verify against\n',
    );
    return EXIT.OK;
  },
};

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

import { extname } from 'node:path';
import * as tar from 'tar-stream';
import type { PackedShard } from './packed-manifest';

/** A shard that cannot be used as a whole: missing, truncated, altered, or not the tar its manifest lists. */
export class BadShardError extends Error {
  constructor(
    readonly shardKey: string,
    reason: string,
  ) {
    super(`shard ${shardKey}: ${reason}`);
    this.name = 'BadShardError';
  }
}

/** Tar member names are positions (`000007.jpg`), so names never exceed ustar's 100 characters. */
export function shardMemberName(index: number, sourceKey: string): string {
  const ext = extname(sourceKey)
    .toLowerCase()
    .replace(/[^.a-z0-9]/g, '');
  return `${String(index).padStart(6, '0')}${ext}`;
}

/** A tar of the given files, in order (a plain ustar archive: `tar tf` lists it); raw pixels are named `.u8`. */
export async function writeShard(files: { key: string; bytes: Buffer }[], raw = false): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (c) => chunks.push(c as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  // A fixed mtime: the same files give the same bytes, hence the same shard name.
  const mtime = new Date(0);
  files.forEach((f, i) => pack.entry({ name: shardMemberName(i, raw ? 'x.u8' : f.key), mode: 0o644, mtime }, f.bytes));
  pack.finalize();
  return done;
}

/**
 * The shard's files in tar order, each copied out of `bytes` (so the tar can be freed once parsed).
 * Throws BadShardError when the archive ends early or does not hold the entries the manifest lists.
 */
export async function parseShard(bytes: Buffer, shard: PackedShard, shardKey: string): Promise<Buffer[]> {
  const files: Buffer[] = [];
  const extract = tar.extract();
  const finished = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (c) => parts.push(c as Buffer));
      stream.on('end', () => {
        files.push(Buffer.concat(parts));
        next();
      });
      stream.on('error', reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  try {
    extract.end(bytes);
    await finished;
  } catch (error) {
    throw new BadShardError(shardKey, `not a readable tar (${(error as Error).message})`);
  }
  if (files.length !== shard.entries.length)
    throw new BadShardError(shardKey, `holds ${files.length} files, the manifest lists ${shard.entries.length}`);
  files.forEach((f, i) => {
    if (f.length !== shard.entries[i].bytes)
      throw new BadShardError(shardKey, `file ${i} has ${f.length} bytes, the manifest says ${shard.entries[i].bytes}`);
  });
  return files;
}

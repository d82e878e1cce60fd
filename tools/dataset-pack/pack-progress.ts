import type { ObjectStore, StoredObject, WalkLimits } from '@trainyard/storage';

/**
 * Files read and shards written while packing, shown on stderr (stdout stays for the result): one
 * line rewritten in place on a terminal, plain lines otherwise (at most one a second, and the last).
 */
export class PackProgress {
  private read = 0;
  private shards = 0;
  private lastDraw = 0;
  private lastLine = '';
  private total = 0;

  constructor(private readonly out: { write(text: string): unknown; isTTY?: boolean }) {}

  /** The images the scan found: what the count goes up to. */
  begin(total: number): void {
    this.total = total;
  }

  fileRead(): void {
    this.read++;
    if (this.out.isTTY) this.draw(false);
  }

  shardWritten(): void {
    this.shards++;
    this.draw(false);
  }

  done(): void {
    this.draw(true);
  }

  private line(): string {
    return `${this.read}/${this.total} files packed, ${this.shards} shard${this.shards === 1 ? '' : 's'} written`;
  }

  private draw(last: boolean): void {
    const now = Date.now();
    if (!last && now - this.lastDraw < (this.out.isTTY ? 100 : 1000)) return;
    const line = this.line();
    this.lastDraw = now;
    if (this.out.isTTY) this.out.write(`\r\x1b[2K${line}${last ? '\n' : ''}`);
    else if (line !== this.lastLine) this.out.write(`${line}\n`);
    this.lastLine = line;
  }
}

/**
 * The stores as the pre-scan and packImageFolder use them, seen through: every object read and every
 * shard written is counted, the folder is listed once (packImageFolder's own scan is handed the
 * pre-scan's listing back), and whether the manifest was already in the store (the same folder
 * packed before) is noted. Built on the stores as prototypes, so `instanceof LocalObjectStore` still
 * holds for the scan (it looks for empty class folders on disk).
 */
export function observedStores(
  source: ObjectStore,
  dest: ObjectStore,
  opts: { shardsPrefix: string; manifestsPrefix: string; onRead: () => void; onShard: () => void },
): { source: ObjectStore; dest: ObjectStore; manifestExisted: () => boolean | undefined } {
  const readSide = Object.create(source) as ObjectStore;
  let first: { prefix: string; objects: StoredObject[]; replayed: boolean } | null = null;
  readSide.list = async (prefix: string, limits?: WalkLimits) => {
    if (first && !first.replayed && first.prefix === prefix) {
      first.replayed = true;
      return first.objects;
    }
    const objects = await source.list(prefix, limits);
    first ??= { prefix, objects, replayed: false };
    return objects;
  };
  readSide.get = async (key: string) => {
    const bytes = await source.get(key);
    opts.onRead();
    return bytes;
  };
  // The source may be the destination (an S3 prefix of the configured store): writes go to `dest`.
  const writeSide = Object.create(dest) as ObjectStore;
  let existed: boolean | undefined;
  writeSide.put = async (key: string, body: Buffer) => {
    if (key.startsWith(opts.manifestsPrefix)) existed = (await dest.list(key)).some((o) => o.key === key);
    await dest.put(key, body);
    if (key.startsWith(opts.shardsPrefix)) opts.onShard();
  };
  return { source: readSide, dest: writeSide, manifestExisted: () => existed };
}

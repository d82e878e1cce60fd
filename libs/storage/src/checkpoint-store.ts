import { createHash } from 'node:crypto';
import { z } from 'zod';
import { CorruptCheckpointError } from './corrupt-checkpoint.error';
import { RUNS_ROOT } from './internal-prefixes';
import { notValidJson } from './json-problem';
import { assertValidKey } from './object-key';
import { ObjectNotFoundError } from './object-not-found.error';
import { keyFromUri, type ObjectStore } from './object-store';

export const CHECKPOINT_MANIFEST = 'manifest.json';

const ManifestSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) })),
  meta: z.record(z.string(), z.unknown()),
});
export type CheckpointManifest = z.infer<typeof ManifestSchema>;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function assertRunId(runId: string): void {
  if (runId === '' || runId.includes('/'))
    throw new Error(`Invalid run id ${JSON.stringify(runId)} for a checkpoint path`);
}

function assertSequence(sequence: number): void {
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new Error(`Checkpoint sequence must be a non-negative integer, got ${sequence}`);
  }
}

export interface CheckpointFolder {
  sequence: number;
  /** How many objects the folder holds. */
  objects: number;
  /** Its manifest (written last) is there. */
  complete: boolean;
  /** When its newest object was written. */
  lastModified: Date;
}

/**
 * Checkpoints as folders `runs/<runId>/checkpoints/<seq>/` in an ObjectStore. The manifest, with the
 * sha256 of every file, is written last and deleted first: a folder without one is an
 * interrupted write (the worker died mid-upload) and is never read as a checkpoint.
 */
export class CheckpointStore {
  constructor(readonly store: ObjectStore) {}

  prefix(runId: string, sequence: number): string {
    assertRunId(runId);
    assertSequence(sequence);
    return `${RUNS_ROOT}${runId}/checkpoints/${sequence}/`;
  }

  /**
   * Uploads every file, then manifest.json. `bytes` counts everything written, manifest included;
   * `sha256` is the manifest's, which pins every file through the hashes it lists.
   */
  async write(
    runId: string,
    sequence: number,
    files: Record<string, Buffer>,
    meta: Record<string, unknown>,
  ): Promise<{ uri: string; bytes: number; sha256: string }> {
    const prefix = this.prefix(runId, sequence);
    const entries: CheckpointManifest['files'] = {};
    let bytes = 0;
    for (const [path, body] of Object.entries(files)) {
      assertValidKey(path);
      if (path === CHECKPOINT_MANIFEST) throw new Error(`A checkpoint file may not be called ${CHECKPOINT_MANIFEST}`);
      await this.store.put(`${prefix}${path}`, body);
      entries[path] = { sha256: sha256(body), bytes: body.length };
      bytes += body.length;
    }
    const manifest: CheckpointManifest = { version: 1, createdAt: new Date().toISOString(), files: entries, meta };
    const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2));
    await this.store.put(`${prefix}${CHECKPOINT_MANIFEST}`, manifestBytes);
    return { uri: this.store.uri(prefix), bytes: bytes + manifestBytes.length, sha256: sha256(manifestBytes) };
  }

  /**
   * Reads and verifies every file, or with `only` (a folder such as `encoder/`) the files under it:
   * a fine-tune's base needs one model of a checkpoint, not its other models and their optimizer
   * state. CorruptCheckpointError names the file and the checkpoint.
   */
  async read(
    uri: string,
    { only }: { only?: string } = {},
  ): Promise<{ files: Record<string, Buffer>; meta: Record<string, unknown> }> {
    const prefix = this.folderKey(uri);
    const manifest = await this.readManifest(uri, prefix);
    const files: Record<string, Buffer> = {};
    for (const [path, expected] of Object.entries(manifest.files)) {
      if (only !== undefined && !path.startsWith(only)) continue;
      let body: Buffer;
      try {
        body = await this.store.get(`${prefix}${path}`);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) throw new CorruptCheckpointError(uri, path, 'file is missing');
        throw error;
      }
      if (body.length !== expected.bytes) {
        throw new CorruptCheckpointError(uri, path, `size is ${body.length} bytes, manifest says ${expected.bytes}`);
      }
      const actual = sha256(body);
      if (actual !== expected.sha256) {
        throw new CorruptCheckpointError(uri, path, `sha256 is ${actual}, manifest says ${expected.sha256}`);
      }
      files[path] = body;
    }
    return { files, meta: manifest.meta };
  }

  /** Sequences of the run's checkpoints whose manifest exists (complete in storage), ascending. */
  async list(runId: string): Promise<number[]> {
    assertRunId(runId);
    const base = `${RUNS_ROOT}${runId}/checkpoints/`;
    const sequences = new Set<number>();
    for (const { key } of await this.store.list(base)) {
      const match = /^(\d+)\/manifest\.json$/.exec(key.slice(base.length));
      if (match) sequences.add(Number(match[1]));
    }
    return [...sequences].sort((a, b) => a - b);
  }

  /**
   * Every numbered folder under the run's checkpoints prefix, complete or not, with its newest
   * object's time. Keys that are not `<seq>/…` (seq written as prefix() writes it) are not ours to judge.
   */
  async folders(runId: string): Promise<CheckpointFolder[]> {
    assertRunId(runId);
    const base = `${RUNS_ROOT}${runId}/checkpoints/`;
    const folders = new Map<number, CheckpointFolder>();
    for (const { key, lastModified } of await this.store.list(base)) {
      const match = /^(0|[1-9]\d*)\/(.+)$/.exec(key.slice(base.length));
      if (!match || !Number.isSafeInteger(Number(match[1]))) continue;
      const sequence = Number(match[1]);
      const folder = folders.get(sequence) ?? { sequence, objects: 0, complete: false, lastModified };
      folder.objects++;
      if (match[2] === CHECKPOINT_MANIFEST) folder.complete = true;
      if (lastModified > folder.lastModified) folder.lastModified = lastModified;
      folders.set(sequence, folder);
    }
    return [...folders.values()].sort((a, b) => a.sequence - b.sequence);
  }

  /** Manifest first, so a delete interrupted halfway leaves an incomplete checkpoint, not a corrupt one. */
  async delete(runId: string, sequence: number): Promise<void> {
    const prefix = this.prefix(runId, sequence);
    await this.store.delete([`${prefix}${CHECKPOINT_MANIFEST}`]);
    const rest = (await this.store.list(prefix)).map((o) => o.key);
    await this.store.delete(rest);
  }

  private folderKey(uri: string): string {
    const key = keyFromUri(this.store, uri);
    return key.endsWith('/') ? key : `${key}/`;
  }

  private async readManifest(uri: string, prefix: string): Promise<CheckpointManifest> {
    let bytes: Buffer;
    try {
      bytes = await this.store.get(`${prefix}${CHECKPOINT_MANIFEST}`);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) {
        throw new CorruptCheckpointError(uri, CHECKPOINT_MANIFEST, 'incomplete checkpoint: manifest.json is missing');
      }
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new CorruptCheckpointError(uri, CHECKPOINT_MANIFEST, notValidJson(error));
    }
    const result = ManifestSchema.safeParse(parsed);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new CorruptCheckpointError(uri, CHECKPOINT_MANIFEST, `not a version 1 manifest (${problems})`);
    }
    return result.data;
  }
}

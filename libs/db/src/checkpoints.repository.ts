import type { CheckpointView } from '@trainyard/contracts';
import type { PrismaClient } from './generated/prisma/client';
import { withFence, type Fence } from './attempt-fence';
import {
  orphanCheckpointSequences,
  retentionVictims,
  type CheckpointFolderAge,
  type CheckpointSweepRecord,
  type OrphanSweepRules,
} from './checkpoint-retention';
import { chosenCheckpoint, type CheckpointChoice } from './checkpoint-choice';
import { CheckpointNotFoundError } from './errors';
import { toCheckpoint, type Checkpoint } from './model-types';
import { checkpointView } from './views';

export interface CheckpointBegin {
  runId: string;
  attemptId: string | null;
  sequence: number;
  epoch: number;
  step: number;
  uri: string;
  models: string[];
}

/**
 * Checkpoint records follow the object store: WRITING before the upload starts, COMPLETE only
 * after the manifest (written last) is in place. Resume reads COMPLETE ones only, so a worker
 * that dies mid-upload leaves a WRITING row that is never trusted.
 */
/** What an attempt may resume from, newest first, and the sequence its first checkpoint takes. */
export interface ResumePoint {
  candidates: { sequence: number; uri: string }[];
  nextSequence: number;
}

export interface CompleteCheckpoint {
  sequence: number;
  epoch: number;
  step: number;
  uri: string;
  models: string[];
  bytes: number;
  sha256: string;
  reason?: string;
  metric?: { name: string; value: number };
}

export class CheckpointsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async begin(input: CheckpointBegin): Promise<Checkpoint> {
    const row = await this.prisma.checkpoint.create({
      data: { ...input, bytes: 0n, sha256: '', status: 'WRITING' },
    });
    return toCheckpoint(row);
  }

  async complete(id: string, bytes: number, sha256: string): Promise<Checkpoint> {
    const { count } = await this.prisma.checkpoint.updateMany({
      where: { id },
      data: { bytes: BigInt(bytes), sha256, status: 'COMPLETE' },
    });
    if (count === 0) throw new CheckpointNotFoundError(id);
    return toCheckpoint(await this.prisma.checkpoint.findUniqueOrThrow({ where: { id } }));
  }

  /**
   * A worker records a checkpoint only after the thread wrote its manifest (the last file), so
   * the row is born COMPLETE. Retried after a lost connection, the insert may meet its own
   * earlier commit: ON CONFLICT keeps that one.
   */
  async recordComplete(fence: Fence, c: CompleteCheckpoint): Promise<void> {
    await withFence(this.prisma, fence, `record checkpoint ${c.sequence}`, async (tx) => {
      await tx.$executeRaw`
        INSERT INTO "checkpoints" ("id", "run_id", "attempt_id", "sequence", "epoch", "step", "uri", "bytes", "sha256",
          "status", "models", "reason", "metric_name", "metric_value")
        VALUES (gen_random_uuid(), ${fence.runId}::uuid, ${fence.attemptId}::uuid, ${c.sequence}, ${c.epoch}, ${c.step},
          ${c.uri}, ${c.bytes}::int8, ${c.sha256}, 'COMPLETE', ${c.models}::text[], ${c.reason ?? null},
          ${c.metric?.name ?? null}, ${c.metric === undefined ? null : String(c.metric.value)}::float8)
        ON CONFLICT ("run_id", "sequence") DO NOTHING`;
    });
  }

  /** The thread found this checkpoint's files do not match its manifest; resume never offers it again. */
  async markCorruptBySequence(fence: Fence, sequence: number): Promise<void> {
    await withFence(this.prisma, fence, `mark checkpoint ${sequence} CORRUPT`, async (tx) => {
      await tx.checkpoint.updateMany({ where: { runId: fence.runId, sequence }, data: { status: 'CORRUPT' } });
    });
  }

  /**
   * Where an attempt starts, in one read: the run's COMPLETE checkpoints it may resume from,
   * newest first, and the next checkpoint sequence. Sequences start at 1 and never reuse a number,
   * not even a WRITING or CORRUPT one's, so a half-written folder in the store is never
   * overwritten by a later checkpoint.
   */
  async resumePoint(runId: string): Promise<ResumePoint> {
    const [row] = await this.prisma.$queryRaw<{ candidates: ResumePoint['candidates']; last: number | null }[]>`
      SELECT (SELECT max("sequence") FROM "checkpoints" WHERE "run_id" = ${runId}::uuid) AS last,
        COALESCE((
          SELECT jsonb_agg(jsonb_build_object('sequence', "sequence", 'uri', "uri") ORDER BY "sequence" DESC)
          FROM "checkpoints" WHERE "run_id" = ${runId}::uuid AND "status" = 'COMPLETE'
        ), '[]'::jsonb) AS candidates`;
    return { candidates: row!.candidates, nextSequence: (row!.last ?? 0) + 1 };
  }

  /**
   * COMPLETE checkpoints retention may delete: all but the last `keepLast`, the best by their
   * metric, and any a fine-tune run pinned as its base.
   */
  async retentionCandidates(runId: string, keepLast: number): Promise<Checkpoint[]> {
    const rows = await this.prisma.checkpoint.findMany({
      where: { runId, status: 'COMPLETE' },
      include: { pinnedBy: { select: { id: true }, take: 1 }, modelVersions: { select: { id: true }, take: 1 } },
      orderBy: { sequence: 'asc' },
    });
    // A registered model version pins its checkpoint as a fine-tune's base does.
    const pinned = new Set(rows.filter((r) => r.pinnedBy.length > 0 || r.modelVersions.length > 0).map((r) => r.id));
    const plain = rows.map(({ pinnedBy: _p, modelVersions: _m, ...r }) => r);
    const victims = new Set(retentionVictims(plain, keepLast, pinned).map((r) => r.id));
    return plain.filter((r) => victims.has(r.id)).map((r) => toCheckpoint(r));
  }

  /**
   * Marks checkpoints DELETED before their objects go, so resume never reads a half-deleted one.
   * Re-checks the pin in the same statement: a fine-tune submitted meanwhile keeps its base.
   * Returns the ids actually marked (the caller deletes only their objects).
   */
  async markDeleted(fence: Fence, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return withFence(this.prisma, fence, `delete ${ids.length} checkpoints`, async (tx) => {
      const rows = await tx.$queryRaw<{ id: string }[]>`
        UPDATE "checkpoints" c SET "status" = 'DELETED'
        WHERE c."id" = ANY(${ids}::uuid[]) AND c."run_id" = ${fence.runId}::uuid AND c."status" = 'COMPLETE'
          AND NOT EXISTS (SELECT 1 FROM "runs" r WHERE r."base_checkpoint_id" = c."id")
          AND NOT EXISTS (SELECT 1 FROM "model_versions" m WHERE m."checkpoint_id" = c."id")
        RETURNING c."id"::text AS id`;
      return rows.map((r) => r.id);
    });
  }

  async markCorrupt(id: string): Promise<void> {
    const { count } = await this.prisma.checkpoint.updateMany({ where: { id }, data: { status: 'CORRUPT' } });
    if (count === 0) throw new CheckpointNotFoundError(id);
  }

  async get(id: string): Promise<Checkpoint | null> {
    const row = await this.prisma.checkpoint.findUnique({ where: { id } });
    return row ? toCheckpoint(row) : null;
  }

  async bySequence(runId: string, sequence: number): Promise<Checkpoint | null> {
    const row = await this.prisma.checkpoint.findUnique({ where: { runId_sequence: { runId, sequence } } });
    return row ? toCheckpoint(row) : null;
  }

  /** The checkpoint other runs build on: the run's best when recorded, else its latest complete (chosenCheckpoint). */
  chosen(
    run: { id: string; result: unknown },
    model?: string,
  ): Promise<{ checkpoint: Checkpoint; chosen: CheckpointChoice } | null> {
    return chosenCheckpoint(this.prisma, run, model);
  }

  async latestComplete(runId: string): Promise<Checkpoint | null> {
    const row = await this.prisma.checkpoint.findFirst({
      where: { runId, status: 'COMPLETE' },
      orderBy: { sequence: 'desc' },
    });
    return row ? toCheckpoint(row) : null;
  }

  /** Every record of the run, whatever its status, by sequence, as the API shows them. */
  async listByRun(runId: string): Promise<CheckpointView[]> {
    const rows = await this.prisma.checkpoint.findMany({ where: { runId }, orderBy: { sequence: 'asc' } });
    return rows.map((row) => checkpointView(toCheckpoint(row)));
  }

  /**
   * Sequences of the run's checkpoint folders that no row will ever stand for (see
   * orphanCheckpointSequences). Reads the database first and only then lists the store through
   * `listFolders`, so the grace period is judged on the freshest listing. Empty if the run does
   * not exist.
   */
  async orphanFolders(
    runId: string,
    listFolders: () => Promise<CheckpointFolderAge[]>,
    rules: OrphanSweepRules,
  ): Promise<number[]> {
    const record = await this.sweepRecord(runId);
    if (!record) return [];
    return orphanCheckpointSequences(await listFolders(), record, rules);
  }

  /**
   * What orphan cleanup needs to know about a run, in one statement so it is one snapshot: a
   * replaced attempt records its checkpoints before the attempt replacing it opens (the fence),
   * so if this shows attempt n it also shows every row attempts below n will ever write.
   * Null if the run does not exist.
   */
  async sweepRecord(runId: string): Promise<CheckpointSweepRecord | null> {
    const rows = await this.prisma.$queryRaw<
      { terminal: boolean; latest_attempt: number | null; rows: { sequence: number; status: string; uri: string }[] }[]
    >`
      SELECT r."status"::text IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AS terminal,
        (SELECT max(a."number")::int4 FROM "attempts" a WHERE a."run_id" = r."id") AS latest_attempt,
        COALESCE((SELECT json_agg(json_build_object('sequence', c."sequence", 'status', c."status"::text, 'uri', c."uri"))
          FROM "checkpoints" c WHERE c."run_id" = r."id"), '[]'::json) AS rows
      FROM "runs" r WHERE r."id" = ${runId}::uuid`;
    const row = rows[0];
    return row ? { runId, terminal: row.terminal, latestAttempt: row.latest_attempt, rows: row.rows } : null;
  }
}

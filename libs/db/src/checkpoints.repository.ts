import type { PrismaClient } from './generated/prisma/client';
import { CheckpointNotFoundError } from './errors';
import { toCheckpoint, type Checkpoint } from './model-types';

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

  async markCorrupt(id: string): Promise<void> {
    const { count } = await this.prisma.checkpoint.updateMany({ where: { id }, data: { status: 'CORRUPT' } });
    if (count === 0) throw new CheckpointNotFoundError(id);
  }

  async latestComplete(runId: string): Promise<Checkpoint | null> {
    const row = await this.prisma.checkpoint.findFirst({
      where: { runId, status: 'COMPLETE' },
      orderBy: { sequence: 'desc' },
    });
    return row ? toCheckpoint(row) : null;
  }

  /** Every record of the run, whatever its status, by sequence. */
  async listByRun(runId: string): Promise<Checkpoint[]> {
    const rows = await this.prisma.checkpoint.findMany({ where: { runId }, orderBy: { sequence: 'asc' } });
    return rows.map(toCheckpoint);
  }

  /**
   * Sequences start at 1 and never reuse a number, not even a WRITING or CORRUPT one's, so a
   * half-written folder in the store is never overwritten by a later checkpoint.
   */
  async nextSequence(runId: string): Promise<number> {
    const { _max } = await this.prisma.checkpoint.aggregate({ where: { runId }, _max: { sequence: true } });
    return (_max.sequence ?? 0) + 1;
  }
}

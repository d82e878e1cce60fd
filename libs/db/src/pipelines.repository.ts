import type { PipelineStatus, PipelineView, Placement, RunKind, RunSpec } from '@trainyard/contracts';
import type { CreatedCursor } from './catalog-page';
import { chosenCheckpoint } from './checkpoint-choice';
import { Prisma, type PrismaClient } from './generated/prisma/client';
import type { Run } from './model-types';
import { lockSubmitted, submitTransaction, type ProjectLoadCheck } from './projects.repository';
import type { WalkPage } from './reconciliation.repository';
import { cancelRunsWhere } from './run-cancel.sql';
import { pipelineView } from './views';

type Tx = Prisma.TransactionClient;

export interface PipelineRunCreation {
  id: string;
  kind: RunKind;
  name: string;
  spec: RunSpec;
  /** The upstream run: a fine-tune's pretrain, an evaluation's fine-tune. */
  baseRunId: string | null;
  /** Waits for its upstream run; the pretrain is the one step not held. */
  held: boolean;
}

/** What an advance decided; the caller does the queue side (PostgreSQL first, Redis second). */
export interface PipelineAdvance {
  status: PipelineStatus;
  /** Runs released this time: enqueue them. */
  released: { id: string; kind: RunKind; spec: Placement }[];
  /** Waiting runs cancelled this time: their jobs, if any, can be removed. */
  cancelled: string[];
}

const KIND_ORDER: Record<string, number> = { PRETRAIN: 0, FINETUNE: 1, EVALUATE: 2 };
/**
 * A pipeline's runs stage by stage (the pretrain, the fine-tunes, the evaluations), each stage's
 * in the order the pipeline named them (pipeline_step); a pipeline recorded before the step was
 * kept, each stage by name.
 */
const byStep = (a: Run, b: Run) =>
  KIND_ORDER[a.kind]! - KIND_ORDER[b.kind]! ||
  (a.pipelineStep ?? 0) - (b.pipelineStep ?? 0) ||
  a.name.localeCompare(b.name) ||
  a.id.localeCompare(b.id);
/** The model a released run reads from its upstream run's checkpoint. */
const NEEDED_MODEL: Record<string, string> = { FINETUNE: 'encoder', EVALUATE: 'classifier' };

/**
 * Pipelines are orchestrated from PostgreSQL: every step is a run row linked by pipeline_id, the
 * steps after the pretrain are created `held` (validated, not enqueued), and `advance` — called
 * by the worker when a step ends and by the reconciler on every pass — releases a held run once
 * its upstream run SUCCEEDED (pinning the checkpoint it starts from), or ends the pipeline when a
 * step failed, cancelling every step that has not started. Idempotent, under a row lock.
 */
export class PipelinesRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * With `check`, nothing is written unless the check passed the project's load (held steps are
   * QUEUED: they count), read under its submit lock in the same transaction (lockedProjectLoad).
   */
  async create(
    pipeline: { id: string; name: string; spec: unknown; project: string },
    runs: PipelineRunCreation[],
    check?: ProjectLoadCheck,
  ): Promise<void> {
    // The project's submit lock is taken only with a check: only then is there a turn to wait for.
    await submitTransaction(this.prisma, pipeline.project, check !== undefined, async (tx) => {
      await lockSubmitted(
        tx,
        pipeline.project,
        runs.map((run) => run.spec),
        check,
      );
      await tx.pipeline.create({
        data: {
          id: pipeline.id,
          name: pipeline.name,
          spec: pipeline.spec as Prisma.InputJsonValue,
          project: pipeline.project,
        },
      });
      // In step order: a run's upstream row must exist before its foreign key points at it.
      for (const [step, run] of runs.entries()) {
        await tx.run.create({
          data: {
            id: run.id,
            kind: run.kind,
            name: run.name,
            spec: run.spec as unknown as Prisma.InputJsonValue,
            baseRunId: run.baseRunId,
            pipelineId: pipeline.id,
            held: run.held,
            pipelineStep: step,
            project: pipeline.project,
          },
        });
      }
    });
  }

  /** The pipeline as the API shows it, its runs in step order. */
  async get(id: string): Promise<PipelineView | null> {
    const pipeline = await this.prisma.pipeline.findUnique({ where: { id }, include: { runs: true } });
    if (!pipeline) return null;
    const { runs, ...row } = pipeline;
    return pipelineView(row, [...runs].sort(byStep));
  }

  /**
   * Pipelines still RUNNING, for the reconciler's pass: one page in (created_at, id) order after
   * `page.after`; the reconciler walks them all, a page a pass, and starts over after a short page.
   */
  async listRunning(page: WalkPage<CreatedCursor>): Promise<CreatedCursor[]> {
    const { after } = page;
    return this.prisma.pipeline.findMany({
      where: {
        status: 'RUNNING',
        ...(after && {
          OR: [{ createdAt: { gt: after.createdAt } }, { createdAt: after.createdAt, id: { gt: after.id } }],
        }),
      },
      select: { id: true, createdAt: true },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: page.limit,
    });
  }

  advance(id: string): Promise<PipelineAdvance> {
    return this.prisma.$transaction(async (tx) => {
      const status = await lockStatus(tx, id);
      if (status === undefined) throw new Error(`No pipeline with id ${id}`);
      const outcome: PipelineAdvance = { status, released: [], cancelled: [] };
      if (status !== 'RUNNING') return outcome;
      const runs = (await tx.run.findMany({ where: { pipelineId: id } })).sort(byStep);
      const failed = firstFailed(runs) ?? (await this.releaseReady(tx, runs, outcome));
      if (failed) return this.endAfter(tx, id, failed, runs, outcome);
      if (runs.every((r) => r.status === 'SUCCEEDED')) return this.succeed(tx, id, outcome);
      return outcome;
    });
  }

  /**
   * Cancels a RUNNING pipeline at once: steps not started (queued, held or preempted) become
   * CANCELLED, running ones are asked to stop between batches, the pipeline is CANCELLED with
   * `reason`. A pipeline whose fate a step already decided (a step FAILED or CANCELLED, or every
   * step SUCCEEDED, and no advance recorded it yet) ends as that decided instead, so a cancel
   * never hides a failure or a success. Not RUNNING: nothing changes. Null: no such pipeline.
   */
  cancel(id: string, reason: string): Promise<PipelineAdvance | null> {
    return this.prisma.$transaction(async (tx) => {
      const status = await lockStatus(tx, id);
      if (status === undefined) return null;
      const outcome: PipelineAdvance = { status, released: [], cancelled: [] };
      if (status !== 'RUNNING') return outcome;
      const runs = (await tx.run.findMany({ where: { pipelineId: id } })).sort(byStep);
      const failed = firstFailed(runs);
      if (failed) return this.endAfter(tx, id, failed, runs, outcome);
      if (runs.every((r) => r.status === 'SUCCEEDED')) return this.succeed(tx, id, outcome);
      return this.end(tx, id, 'CANCELLED', reason, runs, outcome);
    });
  }

  private async succeed(tx: Tx, id: string, outcome: PipelineAdvance): Promise<PipelineAdvance> {
    await tx.pipeline.update({ where: { id }, data: { status: 'SUCCEEDED', endedAt: new Date() } });
    return { ...outcome, status: 'SUCCEEDED' };
  }

  /** Releases held runs whose upstream SUCCEEDED; returns a run it had to fail instead, if any. */
  private async releaseReady(tx: Tx, runs: Run[], outcome: PipelineAdvance): Promise<Run | undefined> {
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const run of runs) {
      if (!run.held || run.status !== 'QUEUED') continue;
      const upstream = run.baseRunId ? byId.get(run.baseRunId) : undefined;
      if (upstream?.status !== 'SUCCEEDED') continue;
      const model = NEEDED_MODEL[run.kind]!;
      // The upstream's best checkpoint when it records one, else its latest (chosenCheckpoint).
      const checkpoint = (await chosenCheckpoint(tx, upstream, model))?.checkpoint;
      if (!checkpoint) {
        const reason = `its upstream run ${upstream.id} ("${upstream.name}") SUCCEEDED with no complete checkpoint holding a ${model}`;
        await tx.run.update({
          where: { id: run.id },
          data: { status: 'FAILED', held: false, failureReason: reason, endedAt: new Date() },
        });
        return { ...run, status: 'FAILED', failureReason: reason };
      }
      const spec = run.spec as unknown as RunSpec;
      // The fine-tune's base is now known: write it into the spec the worker reads.
      const released = spec.kind === 'finetune' ? { ...spec, model: { ...spec.model, baseRunId: upstream.id } } : spec;
      await tx.run.update({
        where: { id: run.id },
        data: {
          held: false,
          baseCheckpointId: checkpoint.id,
          spec: released as unknown as Prisma.InputJsonValue,
          updatedAt: new Date(),
        },
      });
      outcome.released.push({ id: run.id, kind: run.kind as RunKind, spec: released });
    }
    return undefined;
  }

  /** A failed (or cancelled) step ends the pipeline with its reason. */
  private endAfter(tx: Tx, id: string, failed: Run, runs: Run[], outcome: PipelineAdvance): Promise<PipelineAdvance> {
    const status: PipelineStatus = failed.status === 'FAILED' ? 'FAILED' : 'CANCELLED';
    const reason = `${failed.kind} step "${failed.name}" (run ${failed.id}) ${failed.status}${failed.failureReason ? `: ${failed.failureReason}` : ''}`;
    return this.end(
      tx,
      id,
      status,
      reason,
      runs.filter((r) => r.id !== failed.id),
      outcome,
    );
  }

  /**
   * Ends the pipeline with `reason`. Steps not started are CANCELLED with that reason; running
   * ones are asked to stop between batches, in the one UPDATE every cancel makes (cancelRunsWhere).
   * Nothing waits.
   */
  private async end(
    tx: Tx,
    id: string,
    status: PipelineStatus,
    reason: string,
    runs: Run[],
    outcome: PipelineAdvance,
  ): Promise<PipelineAdvance> {
    const downstream = `pipeline ${id} ${status}: ${reason}`;
    const ids = runs.map((r) => r.id);
    if (ids.length) {
      const stopped = await cancelRunsWhere(
        tx,
        Prisma.sql`"id" = ANY(${ids}::uuid[])`,
        Prisma.sql`"failure_reason" = ${downstream},`,
      );
      for (const run of stopped) if (run.status === 'CANCELLED') outcome.cancelled.push(run.id);
    }
    await tx.pipeline.update({ where: { id }, data: { status, failureReason: reason, endedAt: new Date() } });
    // A run this advance released before a later step failed is cancelled with the rest: it gets no job.
    const cancelled = new Set(outcome.cancelled);
    return { ...outcome, released: outcome.released.filter((run) => !cancelled.has(run.id)), status };
  }
}

/** Row lock on the pipeline: two workers finishing two steps at once (or a cancel) go one after the other. */
async function lockStatus(tx: Tx, id: string): Promise<PipelineStatus | undefined> {
  const locked = await tx.$queryRaw<
    { status: PipelineStatus }[]
  >`SELECT "status"::text AS status FROM "pipelines" WHERE "id" = ${id}::uuid FOR UPDATE`;
  return locked[0]?.status;
}

const firstFailed = (runs: Run[]) => runs.find((r) => r.status === 'FAILED' || r.status === 'CANCELLED');

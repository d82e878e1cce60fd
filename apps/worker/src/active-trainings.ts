import { Injectable } from '@nestjs/common';
import type { TrainingContext } from './training-context';

/** The trainings this worker runs now, so a drain or shutdown can preempt every one of them. */
@Injectable()
export class ActiveTrainings {
  private readonly contexts = new Set<TrainingContext>();
  /** Why trainings are preempted now (SIGTERM, a drain); undefined while they may run. */
  private preemptReason: string | undefined;
  /** Those whose training process has exited: their attempt finishes (its retention, its outcome). */
  private readonly ended = new WeakSet<TrainingContext>();

  get size(): number {
    return this.contexts.size;
  }

  /** The runs of those trainings. */
  get runIds(): string[] {
    return [...this.contexts].map((context) => context.fence.runId);
  }

  /** Their attempts: what PostgreSQL may call RUNNING on this worker (see WorkerHost.beat). */
  get attemptIds(): string[] {
    return [...this.contexts].map((context) => context.fence.attemptId);
  }

  /**
   * The runs among them whose training has ended (its process exited, or the attempt concludes
   * without one: a failure found before it started) and whose attempt is finishing: the retention
   * its last checkpoints started, then its outcome.
   */
  get finishingRunIds(): string[] {
    return [...this.contexts]
      .filter((context) => this.ended.has(context) || context.outcomeWindow !== undefined)
      .map((context) => context.fence.runId);
  }

  add(context: TrainingContext): void {
    this.contexts.add(context);
    // A training that starts while the worker is draining or shutting down is preempted at once.
    if (this.preemptReason) this.preempt(context, this.preemptReason);
  }

  delete(context: TrainingContext): void {
    this.contexts.delete(context);
  }

  /** Called once the training process exists: a preemption requested before it started is passed on. */
  started(context: TrainingContext): void {
    if (context.preemptRequested) context.handle?.preempt();
    // `done` settles once the process has exited and its events are applied; it never rejects.
    void context.handle?.done.then(() => this.ended.add(context));
  }

  /**
   * Each training finishes its batch, writes a checkpoint and ends 'preempted'; trainings that
   * start from now on are preempted at once, until `allowTraining`. Returns how many were running.
   */
  preemptAll(reason: string): number {
    this.preemptReason = reason;
    for (const context of this.contexts) this.preempt(context, reason);
    return this.contexts.size;
  }

  /** A drain was taken back: new trainings run again (those already preempted still stop). */
  allowTraining(): void {
    this.preemptReason = undefined;
  }

  private preempt(context: TrainingContext, reason: string): void {
    context.preemptRequested = true;
    context.preemptReason ??= reason;
    context.handle?.preempt();
  }
}

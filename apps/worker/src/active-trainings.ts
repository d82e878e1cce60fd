import { Injectable } from '@nestjs/common';
import type { TrainingContext } from './training-context';

/** The trainings this worker runs now, so shutdown can preempt every one of them. */
@Injectable()
export class ActiveTrainings {
  private readonly contexts = new Set<TrainingContext>();
  private preempting = false;

  add(context: TrainingContext): void {
    this.contexts.add(context);
    // A training that starts while the worker is shutting down is preempted at once.
    if (this.preempting) this.preempt(context);
  }

  delete(context: TrainingContext): void {
    this.contexts.delete(context);
  }

  /** Called once the thread exists: a preemption requested before it started is passed on. */
  started(context: TrainingContext): void {
    if (context.preemptRequested) context.handle?.preempt();
  }

  /** Each thread finishes its batch, writes a checkpoint and ends 'preempted'. */
  preemptAll(): number {
    this.preempting = true;
    for (const context of this.contexts) this.preempt(context);
    return this.contexts.size;
  }

  private preempt(context: TrainingContext): void {
    context.preemptRequested = true;
    context.handle?.preempt();
  }
}

import type { RunProgress } from '@trainyard/contracts';

/**
 * Turns per-batch timings into throttled RunProgress reports: images/s over the last interval,
 * ETA from the average step time since training started.
 */
export class ProgressMeter {
  private readonly startedAt: number;
  private lastReportAt = -Infinity;
  private imagesSinceReport = 0;
  private windowStartedAt: number;
  private stepsDone = 0;
  private imagesPerSec: number | undefined;

  constructor(
    private readonly plan: { epochs: number; stepsPerEpoch: number; totalSteps: number },
    private readonly report: (progress: RunProgress) => void,
    private readonly intervalMs = 500,
    private readonly now: () => number = Date.now,
  ) {
    this.startedAt = now();
    this.windowStartedAt = this.startedAt;
  }

  /** Call after each batch; reports when the interval has passed or `force`. */
  step(epoch: number, step: number, images: number, loss: number, force = false): void {
    this.stepsDone++;
    this.imagesSinceReport += images;
    const t = this.now();
    if (!force && t - this.lastReportAt < this.intervalMs) return;
    if (t > this.windowStartedAt) this.imagesPerSec = (this.imagesSinceReport * 1000) / (t - this.windowStartedAt);
    const msPerStep = (t - this.startedAt) / this.stepsDone;
    this.report({
      phase: 'training',
      epoch,
      epochs: this.plan.epochs,
      step,
      stepsPerEpoch: this.plan.stepsPerEpoch,
      totalSteps: this.plan.totalSteps,
      loss,
      imagesPerSec: this.imagesPerSec,
      etaSeconds: Math.max(0, ((this.plan.totalSteps - step - 1) * msPerStep) / 1000),
      updatedAt: new Date().toISOString(),
    });
    this.lastReportAt = t;
    this.windowStartedAt = t;
    this.imagesSinceReport = 0;
  }

  /** A report outside the batch loop (loading, evaluating, checkpointing, done). */
  phase(phase: RunProgress['phase'], epoch: number, step: number): void {
    this.report({
      phase,
      epoch,
      epochs: this.plan.epochs,
      step,
      stepsPerEpoch: this.plan.stepsPerEpoch,
      totalSteps: this.plan.totalSteps,
      imagesPerSec: this.imagesPerSec,
      updatedAt: new Date().toISOString(),
    });
  }
}

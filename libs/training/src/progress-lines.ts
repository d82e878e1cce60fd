import { TEST_METRIC_PREFIX } from '@trainyard/contracts';
import { BATCH_LOSS_METRIC } from './epoch-loop';
import type { TrainingEvent } from './training-job.types';

/** A line for a person reading the training's output, and which stream it belongs on. */
export interface ProgressLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * What a training prints while it runs, made from the events it reports: one line per epoch
 * (`epoch 2/3 loss 0.0123 val_loss 0.0150 (812 img/s)`), the data's splits, checkpoints written,
 * phases and the result. It is what a person tailing a run's log reads; the events stay the
 * record. Events the worker already logs about the run (backend, resume, unusable checkpoints,
 * skipped files) are not repeated here.
 */
export class ProgressLines {
  private epochs: number | undefined;
  private imagesPerSec: number | undefined;
  private phase: string | undefined;

  describe(event: TrainingEvent): ProgressLine | undefined {
    const out = (text: string, stream: ProgressLine['stream'] = 'stdout') => ({ stream, text });
    switch (event.type) {
      case 'progress': {
        const { phase, epochs, imagesPerSec } = event.progress;
        this.epochs = epochs;
        if (imagesPerSec !== undefined) this.imagesPerSec = imagesPerSec;
        const changed = phase !== this.phase;
        this.phase = phase;
        if (!changed) return undefined;
        if (phase === 'loading') return out('loading data');
        if (phase === 'evaluating') return out('evaluating on the held-out split');
        return undefined;
      }
      case 'metrics': {
        // The test scores are printed with the result, in words.
        const points = event.points.filter(
          (p) => p.name !== BATCH_LOSS_METRIC && !p.name.startsWith(TEST_METRIC_PREFIX),
        );
        if (points.length === 0) return undefined;
        const epoch = points[0]!.epoch;
        const values = points.map((p) => `${p.name} ${number(p.value)}`).join(' ');
        const speed = this.imagesPerSec === undefined ? '' : ` (${Math.round(this.imagesPerSec)} img/s)`;
        return out(`epoch ${epoch}${this.epochs ? `/${this.epochs}` : ''} ${values}${speed}`);
      }
      case 'checkpoint':
        return out(
          `checkpoint ${event.sequence} written (epoch ${event.epoch}, step ${event.step}, ${kib(event.bytes)}, ${event.reason})`,
        );
      case 'data-report': {
        const { train, validation, test } = event.report.splits;
        return out(
          `${event.report.classNames.length} classes; ${train} training, ${validation} validation, ${test} test images`,
        );
      }
      case 'result': {
        const r = event.result;
        if ('mse' in r)
          return out(`result on the ${r.split} split: reconstruction MSE ${number(r.mse)} over ${r.samples} samples`);
        return out(
          `result on the ${r.split} split: accuracy ${number(r.accuracy)}, macro F1 ${number(r.macroF1)} over ${r.samples} samples`,
        );
      }
      default:
        return undefined;
    }
  }
}

function number(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

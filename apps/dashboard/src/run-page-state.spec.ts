import type { RunDetailView } from '@trainyard/contracts';
import {
  augmentationSampleSaved,
  curveLines,
  evaluationNote,
  noCurvesNote,
  progressBar,
  progressHeadline,
} from './run-page-state';

const progress = (phase: 'loading' | 'training' | 'evaluating' | 'done', epoch: number, step: number) => ({
  phase,
  epoch,
  epochs: 10,
  step,
  stepsPerEpoch: 20,
});

describe("a run page's state", () => {
  it('tells a live run by its phase, and an ended one by how it ended and where', () => {
    expect(progressHeadline('RUNNING', progress('training', 3, 45))).toBe('training · epoch 3/10 · step 45');
    expect(progressHeadline('QUEUED', null)).toBe('queued');
    // The report: a failed run read "loading · epoch 0/1 · step 0", as if it still loaded.
    expect(progressHeadline('FAILED', { ...progress('loading', 0, 0), epochs: 1 })).toBe(
      'failed while loading its data, before its first step',
    );
    expect(progressHeadline('FAILED', progress('training', 3, 45))).toBe('failed at epoch 3/10, step 45');
    expect(progressHeadline('FAILED', progress('evaluating', 10, 200))).toBe(
      'failed while evaluating, after epoch 10/10',
    );
    expect(progressHeadline('CANCELLED', null)).toBe('cancelled before it started');
    expect(progressHeadline('CANCELLED', progress('training', 2, 30))).toBe('cancelled at epoch 2/10, step 30');
    expect(progressHeadline('SUCCEEDED', progress('done', 10, 200))).toBe('succeeded · epoch 10/10 · step 200');
  });

  it('draws no bar for a run that stopped before its first step, and how far a stopped one got', () => {
    expect(progressBar('FAILED', progress('loading', 0, 0))).toBeNull();
    expect(progressBar('CANCELLED', null)).toBeNull();
    // Half-way through epoch 6 of 10.
    expect(progressBar('FAILED', progress('training', 6, 110))).toEqual({ fraction: 0.55, stopped: true });
    expect(progressBar('SUCCEEDED', null)).toEqual({ fraction: 1, stopped: false });
    expect(progressBar('RUNNING', progress('loading', 0, 0))).toEqual({ fraction: 0, stopped: false });
  });

  it('promises an evaluation, and curves, only to a run that can still have them', () => {
    expect(evaluationNote('RUNNING')).toBe('After training, on the held-out test split.');
    expect(evaluationNote('QUEUED')).toBe('After training, on the held-out test split.');
    expect(evaluationNote('FAILED')).toBe('None: the run failed before it was evaluated.');
    expect(evaluationNote('CANCELLED')).toBe('None: the run was cancelled before it was evaluated.');
    expect(evaluationNote('SUCCEEDED')).toBe('No evaluation recorded.');
    const finetune = (status: string) => ({ kind: 'FINETUNE' as const, status });
    expect(noCurvesNote(finetune('RUNNING'), false)).toBeNull();
    expect(noCurvesNote(finetune('FAILED'), true)).toBeNull();
    expect(noCurvesNote(finetune('FAILED'), false)).toBe('No curves: the run failed before it recorded a metric.');
    expect(noCurvesNote(finetune('CANCELLED'), false)).toBe(
      'No curves: the run was cancelled before it recorded a metric.',
    );
    expect(noCurvesNote(finetune('SUCCEEDED'), false)).toBe('No curves: the run recorded no metric.');
    // An evaluation trains nothing: never empty charts waiting for curves, running or not.
    for (const status of ['RUNNING', 'SUCCEEDED'])
      expect(noCurvesNote({ kind: 'EVALUATE', status }, false)).toMatch(/^No curves: an evaluation run trains nothing/);
  });

  it('charts curves, losses apart from scores, and leaves the one-point test scores to the Evaluation card', () => {
    const at = (...values: number[]) => values.map((value, step) => ({ step, value }));
    const series = new Map([
      ['loss', at(1, 0.5)],
      ['val_loss', at(1.1, 0.6)],
      ['accuracy', at(0.5, 0.8)],
      ['val_macroF1', at(0.4, 0.7)],
      ['test/accuracy', at(0.9)],
      ['test/loss', at(0.3)],
      ['test/mse', at(0.01)],
    ]);
    const { loss, scores } = curveLines(series);
    expect(loss.map((l) => l.label)).toEqual(['loss', 'val_loss']);
    expect(scores.map((l) => l.label)).toEqual(['accuracy', 'val_macroF1']);
    expect(scores[0]!.points).toEqual(at(0.5, 0.8));
    expect(curveLines(new Map([['test/accuracy', at(0.9)]]))).toEqual({ loss: [], scores: [] });
  });

  it('asks for the augmentation sample only of a fine-tune with augmentation that got past loading its data', () => {
    type Sampled = Pick<RunDetailView, 'spec' | 'progress' | 'checkpoints'>;
    const run = (spec: object, phase: 'loading' | 'training' | null, checkpoints = 0): Sampled =>
      ({
        spec,
        progress: phase ? { ...progress(phase, 1, 0), updatedAt: '2026-12-05T00:00:00Z' } : null,
        checkpoints: Array.from({ length: checkpoints }, () => ({})),
      }) as unknown as Sampled;
    const augmented = { kind: 'finetune', augmentation: { horizontalFlip: true } };
    expect(augmentationSampleSaved(run(augmented, 'training'))).toBe(true);
    // Not yet saved: still queued, or loading its data.
    expect(augmentationSampleSaved(run(augmented, null))).toBe(false);
    expect(augmentationSampleSaved(run(augmented, 'loading'))).toBe(false);
    // A resumed attempt loading again: its first attempt saved it before its checkpoint.
    expect(augmentationSampleSaved(run(augmented, 'loading', 1))).toBe(true);
    // Never saved: no augmentation, or a kind that has none.
    expect(augmentationSampleSaved(run({ kind: 'finetune' }, 'training', 2))).toBe(false);
    expect(augmentationSampleSaved(run({ kind: 'pretrain' }, 'training'))).toBe(false);
    expect(augmentationSampleSaved(run({ kind: 'evaluate' }, 'training'))).toBe(false);
  });
});

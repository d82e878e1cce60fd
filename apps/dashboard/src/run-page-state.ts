/**
 * What a run's page shows for where the run stands: its progress line and bar, live or ended, and
 * what it says where an ended run will never have something (curves, an evaluation). Pure, so they
 * are unit-tested; run-page.ts draws them.
 */
import type { RunDetailView, RunProgress } from '@trainyard/contracts';
import { progressFraction, runEnded, type ChartPoint } from './format';

type Progress = Pick<RunProgress, 'phase' | 'epoch' | 'epochs' | 'step' | 'stepsPerEpoch' | 'totalSteps'> | null;

/** Where a run that stopped got to: "at epoch 3/10, step 120", "while loading its data, before its first step". */
function whereItStopped(p: Progress): string {
  if (!p) return 'before it started';
  const at = `epoch ${p.epoch}/${p.epochs}, step ${p.step}`;
  if (p.phase === 'loading')
    return p.step > 0 ? `while loading its data, at ${at}` : 'while loading its data, before its first step';
  if (p.phase === 'evaluating') return `while evaluating, after epoch ${p.epoch}/${p.epochs}`;
  if (p.phase === 'checkpointing') return `while checkpointing at ${at}`;
  if (p.phase === 'done') return `after its last step (${at})`;
  return `at ${at}`;
}

/**
 * The progress line's first words: the phase, epoch and step while the run lives ("training · epoch
 * 2/4 · step 15"), or how it ended ("failed while loading its data, before its first step"): the
 * last snapshot of an ended run is not what it is doing now.
 */
export function progressHeadline(status: string, p: Progress): string {
  if (status === 'SUCCEEDED') return p ? `succeeded · epoch ${p.epoch}/${p.epochs} · step ${p.step}` : 'succeeded';
  if (runEnded(status)) return `${status.toLowerCase()} ${whereItStopped(p)}`;
  return p ? `${p.phase} · epoch ${p.epoch}/${p.epochs} · step ${p.step}` : status.toLowerCase();
}

/**
 * The progress bar: full for a run that succeeded, how far it got for one that stopped, left out
 * (null) for one that stopped before it trained a step: an empty bar reads as still to come.
 */
export function progressBar(status: string, p: Progress): { fraction: number; stopped: boolean } | null {
  if (status === 'SUCCEEDED') return { fraction: 1, stopped: false };
  const fraction = progressFraction(p);
  if (!runEnded(status)) return { fraction, stopped: false };
  return fraction > 0 ? { fraction, stopped: true } : null;
}

/** What the Evaluation card says while a run has no result: to come, or never (the run ended without one). */
export function evaluationNote(status: string): string {
  if (status === 'SUCCEEDED') return 'No evaluation recorded.';
  if (status === 'FAILED') return 'None: the run failed before it was evaluated.';
  if (status === 'CANCELLED') return 'None: the run was cancelled before it was evaluated.';
  return 'After training, on the held-out test split.';
}

/** A chart's line: a metric's name and its points. */
export interface CurveLine {
  label: string;
  points: ChartPoint[];
}

/** The end-of-run test scores (`test/accuracy`, `test/mse`…): one point each, shown by the Evaluation card. */
const TEST_SCORE = /^test\//;
const SCORE = /acc|f1|precision|recall/i;

/**
 * The run's curves, losses on one chart and scores on the other. A run's test scores are recorded
 * as metrics (to sort and compare runs by) but are one point at the last step each, not curves:
 * they are left out here, as the Evaluation card shows them.
 */
export function curveLines(series: ReadonlyMap<string, ChartPoint[]>): { loss: CurveLine[]; scores: CurveLine[] } {
  const lines = [...series.entries()]
    .filter(([name]) => !TEST_SCORE.test(name))
    .map(([label, points]) => ({ label, points }));
  return { loss: lines.filter((l) => !SCORE.test(l.label)), scores: lines.filter((l) => SCORE.test(l.label)) };
}

/**
 * What stands where the curves would be: for an evaluation run, which trains nothing, always; for
 * another, once it ended without recording a curve; null while they may still come.
 */
export function noCurvesNote(run: Pick<RunDetailView, 'kind' | 'status'>, hasCurves: boolean): string | null {
  if (run.kind === 'EVALUATE')
    return 'No curves: an evaluation run trains nothing; its scores are in the Evaluation card.';
  if (hasCurves || !runEnded(run.status)) return null;
  if (run.status === 'SUCCEEDED') return 'No curves: the run recorded no metric.';
  return `No curves: the run ${run.status === 'FAILED' ? 'failed' : 'was cancelled'} before it recorded a metric.`;
}

/**
 * Whether the API has the run's augmentation sample (GET /v1/runs/:id/augmentation.png): a
 * fine-tune with augmentation saves it once its data is loaded, before its first step; anything
 * else has none, and asking only earns a 404 (and the console error a browser logs for it).
 */
export function augmentationSampleSaved(run: Pick<RunDetailView, 'spec' | 'progress' | 'checkpoints'>): boolean {
  if (run.spec.kind !== 'finetune' || !run.spec.augmentation) return false;
  // Past loading, or a checkpoint from an earlier attempt (a resumed attempt loads again first).
  return (run.progress !== null && run.progress.phase !== 'loading') || run.checkpoints.length > 0;
}

import { queueWaitParts } from '@trainyard/client';
import type { AttemptView, DataReport, RunQueueView } from '@trainyard/contracts';
import { displayWidth, padStartToWidth, padToWidth } from '../display-width';
import { formatDuration, formatTable } from '../progress-line';
import { jsonText, terminalSafe } from '../terminal-safe';

/**
 * What `trainyard show` prints of a run's attempts, data load and result, for a person: the
 * test report of a fine-tune or evaluation (accuracy, macro scores, per class, the confusion
 * matrix), a pretrain's reconstruction error, which weights were tested and why. A run's result
 * and data report are stored JSON that older workers may have shaped differently, so each part is
 * read defensively, and a shape this does not know is printed as JSON rather than dropped. Names,
 * reasons and errors in them come from workers and stored data: every line returned here is
 * terminal-safe (see terminalSafe), and so is every table cell.
 */

/** Confusion matrices are printed up to this many classes; a larger one is in `--json`. */
export const MAX_CONFUSION_CLASSES = 20;
/** Skipped files listed by name; the rest are counted. */
const SKIPPED_SHOWN = 5;

/** Where a waiting run stands: "3 jobs ahead in class gpu; 2 live workers serve it". */
export function queueText(q: RunQueueView): string {
  return terminalSafe(queueWaitParts(q).join('; '));
}

/** One row per attempt: where it ran, how it ended, how long it took, and why it failed. */
export function attemptsTable(attempts: readonly AttemptView[]): string {
  const rows = attempts.map((a) => [
    String(a.number),
    a.workerId ?? '-',
    a.backend ?? '-',
    a.outcome,
    a.endedAt ? formatDuration((Date.parse(a.endedAt) - Date.parse(a.startedAt)) / 1000) : '-',
    a.error ?? '',
  ]);
  return formatTable(['attempt', 'worker', 'backend', 'outcome', 'took', 'error'], rows);
}

/** What the run's data load found: splits, classes, and the files it skipped (named, with why). */
export function dataLines(report: unknown): string[] {
  const r = report as Partial<DataReport> | null;
  if (!isObject(r) || !isObject(r.splits)) return [];
  const { train, validation, test } = r.splits;
  const classes = Array.isArray(r.classNames) ? `, ${r.classNames.length} classes` : '';
  const lines = [
    `data      ${r.folder ? `${r.folder}: ` : ''}${count(train)} train, ${count(validation)} validation, ${count(test)} test images${classes}`,
  ];
  const skippedCount = typeof r.skippedCount === 'number' ? r.skippedCount : 0;
  if (skippedCount > 0) {
    const listed = Array.isArray(r.skipped) ? r.skipped.slice(0, SKIPPED_SHOWN) : [];
    lines.push(`skipped   ${skippedCount} file${skippedCount === 1 ? '' : 's'}:`);
    for (const file of listed) lines.push(`          ${file.file}: ${file.reason}`);
    if (skippedCount > listed.length) lines.push(`          … ${skippedCount - listed.length} more (--json)`);
  }
  return safeLines(lines);
}

/** A run's test result in a few characters, for a list: "acc 92.5%", "mse 0.007345", or "-". */
export function testSummary(result: unknown): string {
  if (isClassification(result)) return `acc ${percent(result.accuracy)}`;
  if (isObject(result) && typeof result['mse'] === 'number') return `mse ${significant(result['mse'])}`;
  return '-';
}

/** A run's result as lines of text; [] when it has none. */
export function resultLines(result: unknown): string[] {
  if (!isObject(result)) return [];
  if (isClassification(result)) return safeLines(classificationLines(result));
  if (typeof result['mse'] === 'number') return safeLines(reconstructionLines(result));
  return [`result    ${jsonText(result)}`];
}

/** Each line terminal-safe, as one line: a line feed inside a name or a reason cannot start a line of its own. */
function safeLines(lines: string[]): string[] {
  return lines.map((line) => terminalSafe(line));
}

interface Classification {
  split?: unknown;
  samples?: unknown;
  accuracy: number;
  macroF1: number;
  macroPrecision?: unknown;
  macroRecall?: unknown;
  classNames: string[];
  perClass: { className: string; precision: number; recall: number; f1: number; support: number }[];
  confusionMatrix: number[][];
  [key: string]: unknown;
}

function isClassification(r: unknown): r is Classification {
  return (
    isObject(r) &&
    typeof r['accuracy'] === 'number' &&
    typeof r['macroF1'] === 'number' &&
    Array.isArray(r['classNames']) &&
    Array.isArray(r['perClass']) &&
    Array.isArray(r['confusionMatrix'])
  );
}

function classificationLines(r: Classification): string[] {
  const macro = [
    typeof r.macroPrecision === 'number' ? `precision ${fixed(r.macroPrecision)}` : null,
    typeof r.macroRecall === 'number' ? `recall ${fixed(r.macroRecall)}` : null,
  ].filter((part) => part !== null);
  const lines = [
    `test      accuracy ${percent(r.accuracy)}, macro F1 ${fixed(r.macroF1)}${macro.length ? ` (${macro.join(', ')})` : ''}${onSplit(r)}`,
  ];
  const unscored = r['unscoredClasses'];
  if (Array.isArray(unscored) && unscored.length > 0)
    lines.push(
      `          macro scores over ${r.classNames.length - unscored.length} of ${r.classNames.length} classes, leaving out those with no image in the split that the model never predicted: ${unscored.join(', ')}`,
    );
  if (r['kind'] === 'evaluation') lines.push(...evaluationLines(r));
  lines.push(
    ...selectionLines(r['selection'], (test) => (isClassification(test) ? classificationSummary(test) : null)),
  );
  lines.push(...transferLines(r['transfer']));
  lines.push('', ...perClassTable(r).split('\n'));
  if (r.classNames.length <= MAX_CONFUSION_CLASSES) {
    lines.push('', 'confusion matrix (rows: actual class, columns: predicted)', ...confusionTable(r).split('\n'));
  } else {
    lines.push('', `confusion matrix: ${r.classNames.length}×${r.classNames.length}, in --json`);
  }
  return lines;
}

function classificationSummary(r: Classification): string {
  return `accuracy ${percent(r.accuracy)}, macro F1 ${fixed(r.macroF1)}`;
}

function evaluationLines(r: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const checkpoint = r['checkpoint'] as { runId?: unknown; sequence?: unknown } | undefined;
  if (isObject(checkpoint)) lines.push(`evaluated checkpoint ${checkpoint.sequence} of run ${checkpoint.runId}`);
  const topK = r['topK'] as { k?: unknown; accuracy?: unknown } | undefined;
  if (isObject(topK) && typeof topK.accuracy === 'number')
    lines.push(`top-${topK.k} accuracy ${percent(topK.accuracy)}`);
  return lines;
}

function reconstructionLines(r: Record<string, unknown>): string[] {
  return [
    `test      reconstruction MSE ${significant(r['mse'] as number)}${onSplit(r)}`,
    ...selectionLines(r['selection'], (test) =>
      isObject(test) && typeof test['mse'] === 'number' ? `MSE ${significant(test['mse'])}` : null,
    ),
  ];
}

/** "on 1000 images of the test split" when the report says so. */
function onSplit(r: Record<string, unknown>): string {
  if (typeof r['samples'] !== 'number') return '';
  return ` on ${r['samples']} images${typeof r['split'] === 'string' ? ` of the ${r['split']} split` : ''}`;
}

interface Position {
  epoch?: unknown;
  step?: unknown;
  sequence?: unknown;
  validation?: { name?: unknown; value?: unknown } | null;
}

/** Which weights the test measured (the best by the selection metric) and what the last ones scored. */
function selectionLines(selection: unknown, summarize: (test: unknown) => string | null): string[] {
  if (!isObject(selection)) return [];
  const s = selection as {
    metric?: unknown;
    best?: Position;
    last?: Position & { test?: unknown };
    stoppedEarly?: unknown;
  };
  if (!isObject(s.best) || !isObject(s.last)) return [];
  const lines = [`weights   ${position(s.best)}, the best by ${s.metric}${validationValue(s.best)}`];
  if (s.last.sequence === s.best.sequence && s.last.step === s.best.step) {
    lines.push('          the last weights are the same');
  } else {
    const test = summarize(s.last.test);
    lines.push(`          the last weights, ${position(s.last)}${test ? `: ${test}` : ''}`);
  }
  const stopped = s.stoppedEarly as { epoch?: unknown } | null | undefined;
  if (isObject(stopped)) lines.push(`          early stopping ended training at epoch ${stopped.epoch}`);
  return lines;
}

function position(p: Position): string {
  const where = `epoch ${p.epoch}, step ${p.step}`;
  return p.sequence === null || p.sequence === undefined
    ? `(${where}, no checkpoint)`
    : `checkpoint ${p.sequence} (${where})`;
}

function validationValue(p: Position): string {
  return isObject(p.validation) && typeof p.validation.value === 'number'
    ? ` (${significant(p.validation.value)})`
    : '';
}

function transferLines(transfer: unknown): string[] {
  if (!isObject(transfer)) return [];
  const t = transfer as {
    base?: unknown;
    cutLayer?: unknown;
    cutAt?: unknown;
    features?: unknown;
    headNorm?: unknown;
    checkpoint?: { runId?: unknown; sequence?: unknown; best?: unknown };
  };
  const source = {
    run: 'the encoder of run',
    registered: 'a registered model, from run',
    imported: 'an imported model',
  }[String(t.base)];
  const checkpoint = isObject(t.checkpoint)
    ? ` ${t.checkpoint.runId}, checkpoint ${t.checkpoint.sequence}${t.checkpoint.best ? ' (its best)' : ''}`
    : '';
  const from =
    t.base === 'scratch'
      ? 'none: trained from scratch'
      : `${source ?? String(t.base)}${source === 'an imported model' ? '' : checkpoint}`;
  const cut = t.base === 'scratch' ? '' : `, cut after ${t.cutLayer}${t.cutAt ? ` (${t.cutAt})` : ''}`;
  const features = Array.isArray(t.features) ? `, features ${t.features.join('×')}` : '';
  const head = t.headNorm === 'batchNorm' ? ', head batch-normalised' : '';
  return [`transfer  ${from}${cut}${features}${head}`];
}

function perClassTable(r: Classification): string {
  const rows = r.perClass.map((c) => [
    String(c.className),
    fixed(c.precision),
    fixed(c.recall),
    fixed(c.f1),
    String(c.support),
  ]);
  return formatTable(['class', 'precision', 'recall', 'f1', 'support'], rows);
}

/**
 * Counts right-aligned under their predicted class, the actual class first on each row. Names
 * (and counts, stored JSON) are made terminal-safe before they are measured, in terminal columns.
 */
function confusionTable(r: Classification): string {
  const safe = (value: unknown) => terminalSafe(String(value));
  const names = r.classNames.map(safe);
  const counts = r.confusionMatrix.map((row) => row.map(safe));
  const label = Math.max(...names.map(displayWidth));
  const cell = Math.max(...names.map(displayWidth), ...counts.flat().map(displayWidth));
  const line = (first: string, cells: string[]) =>
    [padToWidth(first, label), ...cells.map((c) => padStartToWidth(c, cell))].join('  ').trimEnd();
  return [line('', names), ...counts.map((row, i) => line(names[i] ?? String(i), row))].join('\n');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(n: unknown): string {
  return typeof n === 'number' ? n.toLocaleString('en-US') : '?';
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function fixed(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** Four significant digits: 0.9500, 0.007264. */
function significant(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : String(x);
}

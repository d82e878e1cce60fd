/**
 * Charts' text alternatives: what a screen reader says for a canvas or an SVG plot, and what a
 * reader of the page's text (a test, a search) finds of it. Pure, so they are unit-tested.
 */
import { axisLabels, formatMeasured, formatNumber, type ChartPoint } from './format';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * A line's points that are not finite: on the wire a NaN or ±Infinity is null (JSON has neither),
 * so the page cannot tell which, only that the run logged something that is not a number it can
 * draw. A diverged run logs them from some step on; the chart leaves them out.
 */
export function notFinite(points: ChartPoint[]): { count: number; from: number } | null {
  const steps = points.filter((p) => p.value === null || !Number.isFinite(p.value)).map((p) => p.step);
  return steps.length ? { count: steps.length, from: Math.min(...steps) } : null;
}

const NOT_FINITE = 'not finite (NaN or ±∞)';

/**
 * What a chart shows under its plot when a line has points it cannot draw, so a diverged curve
 * does not read as one that stopped being logged: "loss: 51 of 200 points not finite (NaN or ±∞)
 * from step 150, not drawn."; null when every point is drawn.
 */
export function notFiniteNote(lines: { label: string; points: ChartPoint[] }[]): string | null {
  const notes = lines.flatMap((line) => {
    const bad = notFinite(line.points);
    return bad
      ? [
          `${line.label}: ${bad.count} of ${plural(line.points.length, 'point')} ${NOT_FINITE} from step ${bad.from}, not drawn.`,
        ]
      : [];
  });
  return notes.length ? notes.join(' ') : null;
}

/**
 * A line chart over steps in words, a sentence per line: "Loss by step. loss: 120 points, steps 1
 * to 350, last 0.2134, lowest 0.2011, highest 1.386." A line with points that are not finite says
 * how many and from which step, and a last value that is not finite says so rather than "—".
 */
export function lineChartSummary(title: string, lines: { label: string; points: ChartPoint[] }[]): string {
  const drawn = lines.filter((line) => line.points.length > 0);
  if (drawn.length === 0) return `${title} by step: no points yet.`;
  const sentences = drawn.map((line) => {
    const steps = line.points.map((p) => p.step);
    const values = line.points.map((p) => p.value).filter((v): v is number => v !== null && Number.isFinite(v));
    const last = line.points[line.points.length - 1]!.value;
    const span = steps.length === 1 ? `step ${steps[0]}` : `steps ${Math.min(...steps)} to ${Math.max(...steps)}`;
    const range = values.length
      ? `, lowest ${formatNumber(Math.min(...values))}, highest ${formatNumber(Math.max(...values))}`
      : '';
    const bad = notFinite(line.points);
    const badText = bad ? `; ${bad.count} ${NOT_FINITE} from step ${bad.from}` : '';
    return `${line.label}: ${plural(line.points.length, 'point')}, ${span}, last ${formatMeasured(last)}${range}${badText}.`;
  });
  return `${title} by step. ${sentences.join(' ')}`;
}

/**
 * A sweep parameter's scatter plot in words: "training.learningRate (log axis) against
 * test/accuracy: 4 runs, training.learningRate from 3e-4 to 3e-2, test/accuracy from 0.5 to 0.9."
 */
export function scatterSummary(
  parameter: string,
  metric: string,
  axis: { kind: 'number'; log: boolean; min: number; max: number } | { kind: 'category'; categories: string[] },
  ys: number[],
): string {
  const [xMin, xMax] = axis.kind === 'number' ? axisLabels([axis.min, axis.max]) : [];
  const x =
    axis.kind === 'number'
      ? `${parameter} from ${xMin} to ${xMax}`
      : `${parameter} one of ${axis.categories.map((c) => c.replace(/^"|"$/g, '')).join(', ')}`;
  const [yMin, yMax] = axisLabels([Math.min(...ys), Math.max(...ys)]);
  return `${parameter}${axis.kind === 'number' && axis.log ? ' (log axis)' : ''} against ${metric}: ${plural(ys.length, 'run')}, ${x}, ${metric} from ${yMin} to ${yMax}.`;
}

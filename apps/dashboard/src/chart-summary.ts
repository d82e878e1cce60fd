/**
 * Charts' text alternatives: what a screen reader says for a canvas or an SVG plot, and what a
 * reader of the page's text (a test, a search) finds of it. Pure, so they are unit-tested.
 */
import { axisLabels, formatNumber, type ChartPoint } from './format';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * A line chart over steps in words, a sentence per line: "Loss by step. loss: 120 points, steps 1
 * to 350, last 0.2134, lowest 0.2011, highest 1.386."
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
    return `${line.label}: ${plural(line.points.length, 'point')}, ${span}, last ${formatNumber(last)}${range}.`;
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

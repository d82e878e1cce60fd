import { scatterSummary } from './chart-summary';
import { h, s } from './dom';
import { axisLabels, axisPosition, formatNumber, parameterAxis } from './format';

export interface ScatterPoint {
  /** The parameter's value (a number, or anything else as a category). */
  x: unknown;
  y: number;
  label: string;
  href: string;
}

const W = 360;
const H = 230;
const PAD = { left: 56, right: 14, top: 26, bottom: 40 };

/**
 * One sweep parameter against the sweep's metric: a dot per run that has a value, linked to the
 * run. Numbers on a linear axis (log when they span more than two decades), other values as
 * categories. Plain SVG styled by the stylesheet, so it follows the theme and the CSP.
 */
export function scatterPlot(title: string, metric: string, points: ScatterPoint[]): HTMLElement {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const axis = parameterAxis(points.map((p) => p.x));
  const ys = points.map((p) => p.y);
  const yMin = Math.min(...ys);
  const yMax = Math.max(...ys);
  // Dots stay off the axes: the data spans the middle 90% of each.
  const inset = (at: number) => 0.05 + 0.9 * at;
  const xOf = (value: unknown): number => {
    if (axis.kind === 'number')
      return PAD.left + inset(axisPosition(value as number, axis.min, axis.max, axis.log)) * plotW;
    const i = axis.categories.indexOf(JSON.stringify(value));
    return PAD.left + ((i + 0.5) / axis.categories.length) * plotW;
  };
  const yOf = (value: number) => PAD.top + (1 - inset(axisPosition(value, yMin, yMax))) * plotH;
  // Each axis's labels in one notation (never "3.00e-4" beside "0.01").
  const xTicks =
    axis.kind === 'number'
      ? axisLabels([axis.min, axis.max]).map((text, i) => ({ at: xOf(i === 0 ? axis.min : axis.max), text }))
      : axis.categories.map((c) => ({ at: xOf(JSON.parse(c)), text: c.replace(/^"|"$/g, '') }));
  const yTicks = axisLabels([yMin, yMax]).map((text, i) => ({ at: yOf(i === 0 ? yMin : yMax), text }));
  const svg = s(
    'svg',
    {
      viewBox: `0 0 ${W} ${H}`,
      class: 'scatter',
      role: 'img',
      'aria-label': scatterSummary(title, metric, axis, ys),
    },
    s(
      'text',
      { x: W / 2, y: 16, class: 'scatter-title', 'text-anchor': 'middle' },
      `${title}${axis.kind === 'number' && axis.log ? ' (log)' : ''}`,
    ),
    s('line', { x1: PAD.left, y1: PAD.top + plotH, x2: PAD.left + plotW, y2: PAD.top + plotH, class: 'axis' }),
    s('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: PAD.top + plotH, class: 'axis' }),
    xTicks.map((t) => s('text', { x: t.at, y: PAD.top + plotH + 16, class: 'tick', 'text-anchor': 'middle' }, t.text)),
    yTicks.map((t) => s('text', { x: PAD.left - 6, y: t.at + 4, class: 'tick', 'text-anchor': 'end' }, t.text)),
    s('text', { x: PAD.left + plotW / 2, y: H - 6, class: 'tick', 'text-anchor': 'middle' }, title),
    points.map((p) =>
      s(
        'a',
        { href: p.href },
        s(
          'circle',
          { cx: xOf(p.x), cy: yOf(p.y), r: 5, class: 'dot' },
          s('title', {}, `${p.label}: ${title} = ${JSON.stringify(p.x)}, ${metric} = ${formatNumber(p.y)}`),
        ),
      ),
    ),
  );
  return h('div', { class: 'chart scatter-box', 'data-points': points.length }, svg);
}

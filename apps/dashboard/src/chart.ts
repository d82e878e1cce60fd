import uPlot from 'uplot';
import { lineChartSummary, notFiniteNote } from './chart-summary';
import { h } from './dom';
import type { ChartPoint } from './format';

export type { ChartPoint } from './format';

const PALETTE = [
  '#3b82f6',
  '#f97316',
  '#10b981',
  '#e11d48',
  '#8b5cf6',
  '#eab308',
  '#06b6d4',
  '#84cc16',
  '#ec4899',
  '#64748b',
];

export interface LineChart {
  /** Replaces every line; each entry is one labelled series of points by step. */
  setLines(lines: { label: string; points: ChartPoint[] }[]): void;
  destroy(): void;
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

/**
 * A uPlot line chart over steps. Series with different steps are aligned with uPlot.join and
 * gaps spanned, so curves logged at different rates (train per step, val per epoch) overlay.
 */
export function lineChart(container: HTMLElement, title: string, height = 260): LineChart {
  let plot: uPlot | null = null;
  let lines: { label: string; points: ChartPoint[] }[] = [];
  // Under the plot: which lines have points it leaves out, and from which step (a diverged run).
  const note = h('p', { class: 'muted chart-note', hidden: true });

  const render = () => {
    plot?.destroy();
    const width = Math.max(300, container.clientWidth || 600);
    const tables = lines.map(
      (line) =>
        [
          line.points.map((p) => p.step),
          line.points.map((p) => (Number.isFinite(p.value) ? p.value : null)),
        ] as uPlot.AlignedData,
    );
    const data: uPlot.AlignedData = tables.length ? uPlot.join(tables as [number[], (number | null)[]][]) : [[]];
    const axis = {
      stroke: cssVar('--muted'),
      grid: { stroke: cssVar('--grid'), width: 1 },
      ticks: { stroke: cssVar('--grid'), width: 1 },
    };
    plot = new uPlot(
      {
        title,
        width,
        height,
        scales: { x: { time: false } },
        axes: [
          { ...axis, label: 'step' },
          { ...axis, size: 60 },
        ],
        series: [
          { label: 'step' },
          ...lines.map((line, i) => ({
            label: line.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            spanGaps: true,
            points: { show: line.points.length < 60 },
          })),
        ],
        legend: { live: true },
      },
      data,
      container,
    );
    container.dataset['points'] = String(lines.reduce((n, line) => n + line.points.length, 0));
    // A canvas says nothing to a screen reader: the figure is named by its title, its picture by the lines in words.
    plot.ctx.canvas.setAttribute('role', 'img');
    plot.ctx.canvas.setAttribute('aria-label', lineChartSummary(title, lines));
    const left = notFiniteNote(lines);
    note.textContent = left ?? '';
    note.hidden = left === null;
    container.append(note); // after the plot uPlot has just added
  };

  container.setAttribute('role', 'figure');
  container.setAttribute('aria-label', title);
  const observer = new ResizeObserver(() => {
    if (plot && Math.abs(plot.width - container.clientWidth) > 20) render();
  });
  observer.observe(container);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => render());
  document.addEventListener('themechange', render);

  return {
    setLines(next) {
      lines = next;
      render();
    },
    destroy() {
      observer.disconnect();
      document.removeEventListener('themechange', render);
      plot?.destroy();
    },
  };
}

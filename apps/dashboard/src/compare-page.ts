import type { RunListItemView } from '@trainyard/contracts';
import { api, errorText } from './api';
import { lineChart } from './chart';
import { clear, h } from './dom';
import { formatDuration, formatNumber, runDuration } from './format';

const METRICS = ['loss', 'val_loss', 'accuracy', 'val_accuracy'];

/** The curves of chosen runs overlaid, one chart per metric, and their summaries side by side. */
export function comparePage(root: HTMLElement, ids: string[]): () => void {
  const charts: { destroy(): void }[] = [];
  if (ids.length === 0) {
    clear(
      root,
      h('h1', {}, 'Compare'),
      h('p', { class: 'muted' }, 'Mark runs in the runs table (x or the checkbox), then press Compare.'),
    );
    return () => undefined;
  }
  clear(root, h('h1', {}, 'Compare'), h('p', { class: 'muted' }, 'Loading…'));
  void api
    .compare(ids, { names: METRICS, maxPoints: 1000 })
    .then((body) => {
      const label = (run: RunListItemView) => `${run.name} (${run.id.slice(0, 6)})`;
      const boxes = METRICS.map((metric) => ({
        metric,
        box: h('div', { class: 'chart', id: `compare-${metric}` }),
      })).filter(({ metric }) => body.runs.some((r) => r.series.some((s) => s.name === metric && s.points.length > 0)));
      clear(
        root,
        h('h1', {}, `Compare ${body.runs.length} runs`),
        h(
          'table',
          { class: 'compact' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Run', 'Status', 'Backend', 'Duration', ...METRICS.map((m) => `best ${m}`)].map((c) =>
                h('th', {}, c),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            body.runs.map(({ run }) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/runs/${run.id}` }, label(run))),
                h('td', {}, h('span', { class: `badge ${run.status.toLowerCase()}` }, run.status.toLowerCase())),
                h('td', {}, run.backend ?? '—'),
                h('td', { class: 'num' }, formatDuration(runDuration(run))),
                ...METRICS.map((m) =>
                  h('td', { class: 'num' }, formatNumber(run.summaries.find((s) => s.name === m)?.best ?? null)),
                ),
              ),
            ),
          ),
        ),
        h(
          'div',
          { class: 'charts' },
          boxes.map(({ box }) => box),
        ),
      );
      for (const { metric, box } of boxes) {
        const chart = lineChart(box, metric);
        chart.setLines(
          body.runs.map(({ run, series }) => ({
            label: label(run),
            points: series.find((s) => s.name === metric)?.points ?? [],
          })),
        );
        charts.push(chart);
      }
    })
    .catch((err: unknown) => clear(root, h('h1', {}, 'Compare'), h('p', { class: 'error' }, errorText(err))));
  return () => charts.forEach((c) => c.destroy());
}

import type { RunComparison, RunListItemView } from '@trainyard/contracts';
import { api, errorText, isGone } from './api';
import { lineChart } from './chart';
import { clear, h } from './dom';
import { formatDuration, runDuration, summaryText } from './format';
import { runsStillRecorded } from './run-presence';

const METRICS = ['loss', 'val_loss', 'accuracy', 'val_accuracy'];
const ASKED = { names: METRICS, maxPoints: 1000 };

/**
 * The comparison of `ids`, and which of them are gone. The API answers a 404 for the whole
 * comparison when one run is missing (deleted since the link was made): the page then finds which
 * (one request per id, at most the API's 20 runs) and compares the others, rather than showing
 * the 404 alone and losing every run the link still names.
 */
async function compareWhatIsLeft(ids: string[]): Promise<{ body: RunComparison | null; gone: string[] }> {
  try {
    return { body: await api.compare(ids, ASKED), gone: [] };
  } catch (err) {
    if (!isGone(err)) throw err;
    const recorded = await runsStillRecorded(ids);
    const gone = ids.filter((id) => !recorded.has(id));
    // Every run is there after all (one was recorded again?): the 404 is the answer to show.
    if (gone.length === 0) throw err;
    const left = ids.filter((id) => recorded.has(id));
    return { body: left.length ? await api.compare(left, ASKED) : null, gone };
  }
}

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
  // The API reads ids in either case; the page matches them against its answers, which are lowercase.
  const asked = [...new Set(ids.map((id) => id.toLowerCase()))];
  void compareWhatIsLeft(asked)
    .then(({ body: found, gone }) => {
      const goneNote = gone.length
        ? h(
            'p',
            { class: 'error', id: 'compare-gone', role: 'status' },
            `Not shown: ${gone.length === 1 ? 'a run this link names is' : `${gone.length} runs this link names are`} no longer recorded (deleted, or never there): `,
            gone.map((id, i) => [i ? ', ' : '', h('code', {}, id)]),
          )
        : '';
      if (!found) return clear(root, h('h1', {}, 'Compare'), goneNote);
      const body = found;
      const label = (run: RunListItemView) => `${run.name} (${run.id.slice(0, 6)})`;
      const boxes = METRICS.map((metric) => ({
        metric,
        box: h('div', { class: 'chart', id: `compare-${metric}` }),
      })).filter(({ metric }) => body.runs.some((r) => r.series.some((s) => s.name === metric && s.points.length > 0)));
      clear(
        root,
        h('h1', {}, `Compare ${body.runs.length} run${body.runs.length === 1 ? '' : 's'}`),
        goneNote,
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
                ...METRICS.map((m) => h('td', { class: 'num' }, summaryText(run.summaries, { name: m, stat: 'best' }))),
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

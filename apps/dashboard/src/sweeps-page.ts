import type { SweepSummary, SweepView } from '@trainyard/contracts';
import { api, errorText, isGone } from './api';
import { clear, h } from './dom';
import { confirmedAction } from './confirmed-action';
import { countsText, formatNumber, runEnded } from './format';
import { listTable, pagedListPage } from './list-page';
import { timeElement } from './local-time';
import { scatterPlot } from './scatter';

/** Sweeps newest first, a page at a time ("Load more" follows the cursor). */
export function sweepsPage(root: HTMLElement): () => void {
  const body = h('tbody');
  return pagedListPage<SweepSummary>(root, {
    title: 'Sweeps',
    fetchPage: (query) => api.listSweeps(query),
    empty: 'No sweeps yet: submit one with `trainyard submit sweep.yaml`.',
    container: body,
    frame: listTable('sweeps-table', ['Name', 'Strategy', 'Metric', 'Parameters', 'Runs', 'Created'], body),
    render: (rows) =>
      rows.map((w) =>
        h(
          'tr',
          { 'data-id': w.id },
          h('td', {}, h('a', { href: `#/sweeps/${w.id}` }, w.name)),
          h('td', {}, w.strategy),
          h('td', {}, `${w.metric} (${w.goal})`),
          h('td', {}, w.parameters.join(', ')),
          h('td', {}, `${w.runs}: ${countsText(w.counts)}`),
          h('td', { class: 'muted' }, timeElement(w.createdAt)),
        ),
      ),
    refresh: true,
  });
}

/**
 * A sweep: its runs by status, the leaderboard best first, each parameter plotted against the
 * metric, and a Cancel button for the runs that have not ended.
 */
export function sweepPage(root: HTMLElement, id: string): () => void {
  let stopped = false;
  const head = h('div');
  const body = h('div');
  const message = h('p', { class: 'muted', role: 'status', id: 'sweep-message' });
  const { button: cancel, confirm } = confirmedAction({
    id: 'cancel-sweep',
    label: 'Cancel sweep',
    confirmLabel: 'Yes, cancel every run not ended',
    message,
    act: async () => {
      draw(await api.cancelSweep(id));
      restart();
      return 'Cancelled: waiting runs stopped now, running ones stop between batches.';
    },
  });
  const draw = (sweep: SweepView) => {
    const parameters = Object.keys((sweep.spec as { parameters?: Record<string, unknown> }).parameters ?? {});
    // What the API ranks (SUCCEEDED runs with a finite value): a cancelled run's partial value is no result.
    const ranked = sweep.leaderboard.filter((e) => e.rank !== null);
    const unfinished = sweep.leaderboard.some((e) => !runEnded(e.status));
    cancel.disabled = !unfinished;
    clear(
      head,
      h('h1', {}, `Sweep ${sweep.name}`),
      h(
        'p',
        { class: 'muted', id: 'sweep-counts' },
        `${sweep.metric} (${sweep.goal}) · ${countsText(sweep.counts)} · ${ranked.length} of ${sweep.leaderboard.length} ranked `,
        cancel,
        ' ',
        confirm,
      ),
    );
    clear(
      body,
      h(
        'div',
        { class: 'charts', id: 'sweep-charts' },
        ranked.length === 0
          ? h(
              'p',
              { class: 'muted' },
              `No run has succeeded with a ${sweep.metric} yet: the charts appear as runs finish.`,
            )
          : parameters.map((name) =>
              scatterPlot(
                name,
                sweep.metric,
                ranked.map((e) => ({
                  x: (e.params as Record<string, unknown>)[name],
                  y: e.value!,
                  label: e.name,
                  href: `#/runs/${e.runId}`,
                })),
              ),
            ),
      ),
      h(
        'section',
        { class: 'card' },
        h('h2', {}, 'Leaderboard'),
        h(
          'table',
          { class: 'compact', id: 'leaderboard' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Rank', 'Run', 'Status', sweep.metric, ...parameters].map((c) => h('th', { scope: 'col' }, c)),
            ),
          ),
          h(
            'tbody',
            {},
            sweep.leaderboard.map((e) =>
              h(
                'tr',
                { 'data-run': e.runId },
                h('td', {}, e.rank ?? '—'),
                h('td', {}, h('a', { href: `#/runs/${e.runId}` }, e.name)),
                h(
                  'td',
                  { title: e.failureReason ?? '' },
                  h('span', { class: `badge ${e.status.toLowerCase()}` }, e.status.toLowerCase()),
                ),
                h('td', { class: 'num' }, formatNumber(e.value)),
                parameters.map((name) =>
                  h('td', {}, JSON.stringify((e.params as Record<string, unknown>)[name] ?? null)),
                ),
              ),
            ),
          ),
        ),
      ),
    );
    // Refreshed until every run has ended (a cancelled sweep's running runs stop between batches).
    if (!unfinished) window.clearInterval(timer);
  };
  const load = async () => {
    try {
      const sweep = await api.sweep(id);
      if (!stopped) draw(sweep);
    } catch (err) {
      message.textContent = errorText(err);
      if (isGone(err)) window.clearInterval(timer);
    }
  };
  clear(root, head, message, body);
  void load();
  let timer = 0;
  const restart = () => {
    window.clearInterval(timer);
    timer = window.setInterval(() => document.visibilityState === 'visible' && void load(), 5000);
  };
  restart();
  return () => {
    stopped = true;
    window.clearInterval(timer);
  };
}

import type { PipelineSummary, PipelineView, RunView } from '@trainyard/contracts';
import { api, errorText, isGone } from './api';
import { clear, h, s } from './dom';
import { confirmedAction } from './confirmed-action';
import { countsText, formatNumber, kindLabel, testAccuracy } from './format';
import { listTable, pagedListPage } from './list-page';
import { timeElement } from './local-time';

/** Pipelines newest first, a page at a time. */
export function pipelinesPage(root: HTMLElement): () => void {
  const body = h('tbody');
  return pagedListPage<PipelineSummary>(root, {
    title: 'Pipelines',
    fetchPage: (query) => api.listPipelines(query),
    empty: 'No pipelines yet: submit one with `trainyard submit pipeline.yaml`.',
    container: body,
    frame: listTable('pipelines-table', ['Status', 'Name', 'Steps', 'Runs', 'Created'], body),
    render: (rows) =>
      rows.map((p) =>
        h(
          'tr',
          { 'data-id': p.id },
          h('td', {}, h('span', { class: `badge ${p.status.toLowerCase()}` }, p.status.toLowerCase())),
          h('td', {}, h('a', { href: `#/pipelines/${p.id}` }, p.name)),
          h('td', { class: 'num' }, p.steps),
          h('td', {}, countsText(p.counts)),
          h('td', { class: 'muted' }, timeElement(p.createdAt)),
        ),
      ),
    refresh: true,
  });
}

const BOX = { w: 250, h: 54, gapX: 70, gapY: 14, pad: 12 };
const COLUMN: Record<string, number> = { PRETRAIN: 0, FINETUNE: 1, EVALUATE: 2 };

/** How a step reads in its box: its status (held steps wait for their upstream run), and a test accuracy once evaluated. */
function stepStatus(run: RunView): string {
  const accuracy = testAccuracy(run);
  if (accuracy !== null) return `${run.status.toLowerCase()} · test acc ${formatNumber(accuracy, 3)}`;
  return run.held && run.status === 'QUEUED' ? 'held' : run.status.toLowerCase();
}

/**
 * The steps as boxes in columns (pretrain → fine-tunes → evaluations) with an arrow from each
 * step's upstream run, each box coloured by status and linked to its run.
 */
export function pipelineGraph(runs: RunView[]): SVGElement {
  const rowsOf = [0, 0, 0];
  const at = new Map<string, { x: number; y: number }>();
  for (const run of runs) {
    const column = COLUMN[run.kind] ?? 2;
    const row = rowsOf[column]!++;
    at.set(run.id, { x: BOX.pad + column * (BOX.w + BOX.gapX), y: BOX.pad + row * (BOX.h + BOX.gapY) });
  }
  const columns = Math.max(1, ...runs.map((r) => (COLUMN[r.kind] ?? 2) + 1));
  const width = BOX.pad * 2 + columns * BOX.w + (columns - 1) * BOX.gapX;
  const height = BOX.pad * 2 + Math.max(1, ...rowsOf) * (BOX.h + BOX.gapY) - BOX.gapY;
  const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
  return s(
    'svg',
    {
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      class: 'pipeline-graph',
      id: 'pipeline-graph',
      role: 'img',
      'aria-label': `Steps, each after the run it builds on: ${runs.map((r) => `${r.name} (${kindLabel(r.kind)}, ${stepStatus(r)})`).join('; ')}`,
    },
    s(
      'defs',
      {},
      s(
        'marker',
        { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
        s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow-head' }),
      ),
    ),
    runs.map((run) => {
      const from = run.baseRunId ? at.get(run.baseRunId) : undefined;
      const to = at.get(run.id)!;
      if (!from) return null;
      const [x1, y1, x2, y2] = [from.x + BOX.w, from.y + BOX.h / 2, to.x, to.y + BOX.h / 2];
      const mid = (x1 + x2) / 2;
      return s('path', {
        d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 2},${y2}`,
        class: 'edge',
        'marker-end': 'url(#arrow)',
        'data-upstream': run.baseRunId,
        'data-downstream': run.id,
      });
    }),
    runs.map((run) => {
      const { x, y } = at.get(run.id)!;
      const status = run.held && run.status === 'QUEUED' ? 'held' : run.status.toLowerCase();
      return s(
        'a',
        { href: `#/runs/${run.id}` },
        s(
          'g',
          { class: `step ${status}`, 'data-run': run.id, 'data-status': status },
          s('rect', { x, y, width: BOX.w, height: BOX.h, rx: 8 }),
          s('text', { x: x + 10, y: y + 21, class: 'step-name' }, clip(run.name, 32)),
          s(
            'text',
            { x: x + 10, y: y + 40, class: 'step-status' },
            clip(`${kindLabel(run.kind)} · ${stepStatus(run)}`, 38),
          ),
          s(
            'title',
            {},
            `${run.name}\n${run.kind.toLowerCase()} · ${stepStatus(run)}${run.failureReason ? `\n${run.failureReason}` : ''}`,
          ),
        ),
      );
    }),
  );
}

/** A pipeline: its status, its steps as a graph (refreshed while it runs) and a Cancel button. */
export function pipelinePage(root: HTMLElement, id: string): () => void {
  let stopped = false;
  const header = h('div');
  const graph = h('div', { class: 'card graph-card' });
  const message = h('p', { class: 'muted', role: 'status', id: 'pipeline-message' });
  const { button: cancel, confirm } = confirmedAction({
    id: 'cancel-pipeline',
    label: 'Cancel pipeline',
    confirmLabel: 'Yes, cancel every step not ended',
    message,
    act: async () => {
      draw(await api.cancelPipeline(id));
      return 'Cancelled: waiting steps stopped now, running ones stop between batches.';
    },
  });
  const draw = (p: PipelineView) => {
    clear(
      header,
      h('h1', {}, `Pipeline ${p.name}`),
      h(
        'p',
        {},
        h('span', { class: `badge ${p.status.toLowerCase()}`, id: 'pipeline-status' }, p.status.toLowerCase()),
        ` ${p.runs.length} steps · created `,
        timeElement(p.createdAt),
        p.endedAt ? [' · ended ', timeElement(p.endedAt)] : '',
        ' ',
        cancel,
        ' ',
        confirm,
      ),
      p.failureReason ? h('p', { class: 'error' }, p.failureReason) : '',
    );
    cancel.disabled = p.status !== 'RUNNING';
    clear(graph, h('h2', {}, 'Steps'), pipelineGraph(p.runs));
    // A cancelled pipeline's running step stops between batches: follow it until it has.
    if (p.status !== 'RUNNING' && !p.runs.some((r) => r.status === 'RUNNING')) window.clearInterval(timer);
  };
  const load = async () => {
    try {
      const p = await api.pipeline(id);
      if (!stopped) draw(p);
    } catch (err) {
      message.textContent = errorText(err);
      if (isGone(err)) window.clearInterval(timer);
    }
  };
  clear(root, header, message, graph);
  void load();
  const timer = window.setInterval(() => document.visibilityState === 'visible' && void load(), 3000);
  return () => {
    stopped = true;
    window.clearInterval(timer);
  };
}

import type { RunListItemView } from '@trainyard/contracts';
import type { RunListQuery } from '@trainyard/client/browser';
import { api, errorText } from './api';
import { clear, h } from './dom';
import {
  COMPARE_MAX_RUNS,
  formatDuration,
  formatNumber,
  headlineMetric,
  kindLabel,
  metricSort,
  moveSelection,
  runDuration,
  summaryText,
  testAccuracy,
} from './format';
import { timeElement } from './local-time';

const SORTS: [string, string][] = [
  ['createdAt', 'Newest'],
  ['metric:val_accuracy:best', 'Best val accuracy'],
  ['metric:val_loss:best', 'Best val loss'],
  ['metric:loss:last', 'Last loss'],
  ['metric:accuracy:max', 'Max train accuracy'],
];

/** Filters live in the URL hash, so a filtered view can be shared and survives a reload. */
function readFilters(): URLSearchParams {
  const query = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(query);
}

/**
 * Runs table: filters (tags as chips to click), search, sort by any metric summary, keyset "load more", and keyboard
 * navigation (↑/↓ or k/j move, Enter opens, x marks for comparison, / searches).
 */
export function runsPage(root: HTMLElement): () => void {
  const params = readFilters();
  let rows: RunListItemView[] = [];
  let selected = -1;
  // Marks survive opening a run and coming back (this tab only).
  const marked = new Set<string>((sessionStorage.getItem('trainyard-marked') ?? '').split(',').filter(Boolean));
  let nextCursor: string | null = null;
  // The reader asked for more than the first page: the 5-s refresh, which reads the first page
  // alone, would drop every row past it (all but 50 of 400), so it waits until the filters change.
  let showingMore = false;
  // The newest request: an older answer landing after it (a refresh in flight when "Load more" or
  // a filter was asked) would put back rows the reader has moved on from.
  let asked = 0;

  const search = h('input', {
    type: 'search',
    placeholder: 'Search names  ( / )',
    value: params.get('q') ?? '',
    'aria-label': 'Search by name',
    id: 'search',
  });
  const status = h(
    'select',
    { 'aria-label': 'Status' },
    h('option', { value: '' }, 'Any status'),
    ...['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PREEMPTED'].map((s) =>
      h('option', { value: s, selected: params.get('status') === s }, s.toLowerCase()),
    ),
  );
  const kind = h(
    'select',
    { 'aria-label': 'Kind' },
    h('option', { value: '' }, 'Any kind'),
    h('option', { value: 'PRETRAIN', selected: params.get('kind') === 'PRETRAIN' }, 'pretrain'),
    h('option', { value: 'FINETUNE', selected: params.get('kind') === 'FINETUNE' }, 'fine-tune'),
    h('option', { value: 'EVALUATE', selected: params.get('kind') === 'EVALUATE' }, 'evaluation'),
  );
  const sort = h('input', {
    list: 'sorts',
    value: params.get('sort') ?? 'createdAt',
    'aria-label': 'Sort (createdAt or metric:<name>:<best|last|min|max>)',
    size: 26,
  });
  const sorts = h('datalist', { id: 'sorts' }, ...SORTS.map(([value, label]) => h('option', { value }, label)));
  const order = h(
    'select',
    { 'aria-label': 'Order' },
    h('option', { value: 'desc', selected: params.get('order') !== 'asc' }, '↓ desc'),
    h('option', { value: 'asc', selected: params.get('order') === 'asc' }, '↑ asc'),
  );
  const spec = h('input', {
    placeholder: 'spec.training.learningRate=0.001',
    value: params.get('spec') ?? '',
    'aria-label': 'Spec filters, space separated',
    size: 30,
  });
  const tags = h('input', {
    placeholder: 'tags',
    value: params.getAll('tag').join(' '),
    'aria-label': 'Tags (runs with all of them), space separated',
    id: 'tag-filter',
    size: 16,
  });
  const archived = h(
    'select',
    { 'aria-label': 'Archived runs', id: 'archived-filter' },
    ...[
      ['false', 'Hide archived'],
      ['true', 'Only archived'],
      ['any', 'With archived'],
    ].map(([value, label]) => h('option', { value, selected: (params.get('archived') ?? 'false') === value }, label)),
  );
  const compare = h(
    'button',
    { type: 'button', class: 'primary', onclick: () => (location.hash = `#/compare?ids=${[...marked].join(',')}`) },
    'Compare',
  );
  const message = h('p', { class: 'muted', role: 'status' });
  const body = h('tbody');
  const more = h('button', { type: 'button', onclick: () => void load(true) }, 'Load more');
  // The order the rows came back in: a metric sort adds that metric's column, as `trainyard ls` does.
  let shown = { sort: metricSort(params.get('sort') ?? ''), order: params.get('order') ?? 'desc' };
  const head = h('tr');
  const table = h(
    'table',
    { class: 'runs', tabindex: 0, 'aria-label': 'Runs', id: 'runs-table' },
    h('thead', {}, head),
    body,
  );

  const query = (): URLSearchParams => {
    const q = new URLSearchParams();
    if (search.value.trim()) q.set('q', search.value.trim());
    if (status.value) q.set('status', status.value);
    if (kind.value) q.set('kind', kind.value);
    for (const tag of tags.value
      .trim()
      .split(/[\s,]+/)
      .filter(Boolean))
      q.append('tag', tag);
    if (archived.value !== 'false') q.set('archived', archived.value);
    q.set('sort', sort.value.trim() || 'createdAt');
    q.set('order', order.value);
    for (const part of spec.value.trim().split(/\s+/).filter(Boolean)) {
      const [key, ...rest] = part.split('=');
      if (key && rest.length) q.set(key.startsWith('spec.') ? key : `spec.${key}`, rest.join('='));
    }
    return q;
  };

  async function load(append = false): Promise<void> {
    const q = query();
    q.set('limit', '50');
    if (append && nextCursor) q.set('cursor', nextCursor);
    showingMore = append;
    const turn = ++asked;
    try {
      const page = await api.listRuns(listQuery(q));
      if (turn !== asked) return;
      const keep = rows[selected]?.id;
      rows = append ? [...rows, ...page.items] : page.items;
      shown = { sort: metricSort(q.get('sort') ?? ''), order: q.get('order') ?? 'desc' };
      nextCursor = page.nextCursor;
      selected = keep ? rows.findIndex((r) => r.id === keep) : selected;
      message.textContent = rows.length ? '' : 'No runs match.';
      render();
    } catch (err) {
      if (turn === asked) message.textContent = errorText(err);
    }
  }

  function render(): void {
    const sorted = shown.sort;
    const ariaSort = shown.order === 'asc' ? 'ascending' : 'descending';
    clear(
      head,
      ['', 'Status', 'Kind', 'Name', 'Base', 'Best val / test'].map((c) => h('th', { scope: 'col' }, c)),
      sorted
        ? h(
            'th',
            { scope: 'col', class: 'sorted-by', 'aria-sort': ariaSort, title: 'The metric the list is sorted by' },
            `${sorted.name} (${sorted.stat})`,
          )
        : '',
      ['Duration', 'Images/s', 'Backend'].map((c) => h('th', { scope: 'col' }, c)),
      h('th', { scope: 'col', 'aria-sort': sorted ? null : ariaSort }, 'Created'),
    );
    clear(
      body,
      rows.map((run, i) => {
        const metric = headlineMetric(run.kind);
        const summary = run.summaries.find((s) => s.name === metric.name);
        // An evaluation records no validation curve: its headline is its test accuracy.
        const accuracy = testAccuracy(run);
        return h(
          'tr',
          {
            class: i === selected ? 'selected' : '',
            'aria-selected': i === selected ? 'true' : null,
            'data-id': run.id,
            onclick: () => select(i),
            ondblclick: () => open(i),
          },
          h(
            'td',
            {},
            h('input', {
              type: 'checkbox',
              'aria-label': `Compare ${run.name}`,
              checked: marked.has(run.id),
              onchange: (e: Event) => mark(run.id, (e.target as HTMLInputElement).checked),
            }),
          ),
          h('td', {}, h('span', { class: `badge ${run.status.toLowerCase()}` }, run.status.toLowerCase())),
          h('td', {}, kindLabel(run.kind)),
          h(
            'td',
            {},
            h('a', { href: `#/runs/${run.id}` }, run.name),
            run.archivedAt ? [' ', h('span', { class: 'badge cancelled' }, 'archived')] : '',
            run.tags.length
              ? h(
                  'span',
                  { class: 'chips' },
                  run.tags.map((tag) =>
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'chip',
                        title: `Only runs tagged ${tag}`,
                        onclick: (e: Event) => filterByTag(e, tag),
                      },
                      tag,
                    ),
                  ),
                )
              : '',
          ),
          h(
            'td',
            {},
            run.baseRunId
              ? h('a', { href: `#/runs/${run.baseRunId}` }, run.baseRunName ?? run.baseRunId.slice(0, 8))
              : '—',
          ),
          accuracy !== null
            ? h('td', { class: 'num test-accuracy', title: 'test accuracy' }, `${formatNumber(accuracy)} test acc`)
            : h(
                'td',
                { class: 'num', title: metric.name },
                summary ? `${summaryText([summary], { name: metric.name, stat: 'best' })} ${metric.label}` : '—',
              ),
          sorted
            ? h(
                'td',
                { class: 'num sorted-metric', title: `${sorted.name} (${sorted.stat})` },
                summaryText(run.summaries, sorted),
              )
            : '',
          h('td', { class: 'num' }, formatDuration(runDuration(run))),
          h('td', { class: 'num' }, formatNumber(run.progress?.imagesPerSec ?? null, 3)),
          h('td', {}, run.backend ?? '—'),
          h('td', { class: 'muted' }, timeElement(run.createdAt)),
        );
      }),
    );
    more.hidden = !nextCursor;
    compare.textContent = `Compare (${marked.size})`;
    // The API compares at most COMPARE_MAX_RUNS: past it the button says so rather than open a 400.
    const tooMany = marked.size > COMPARE_MAX_RUNS;
    (compare as HTMLButtonElement).disabled = marked.size < 1 || tooMany;
    compare.title = tooMany ? `At most ${COMPARE_MAX_RUNS} runs can be compared at once: unmark some` : '';
  }

  const filterByTag = (e: Event, tag: string) => {
    e.stopPropagation();
    const current = tags.value
      .trim()
      .split(/[\s,]+/)
      .filter(Boolean);
    if (!current.includes(tag)) tags.value = [...current, tag].join(' ');
    changed();
  };
  // Only the two rows that change: redrawing every row per key press cost ~45 ms at 400 rows.
  const select = (i: number) => {
    for (const [index, on] of [
      [selected, false],
      [i, true],
    ] as const) {
      const row = body.children[index];
      row?.classList.toggle('selected', on);
      if (on) row?.setAttribute('aria-selected', 'true');
      else row?.removeAttribute('aria-selected');
    }
    selected = i;
    body.children[i]?.scrollIntoView({ block: 'nearest' });
  };
  const open = (i: number) => {
    const run = rows[i];
    if (run) location.hash = `#/runs/${run.id}`;
  };
  const mark = (id: string, on: boolean) => {
    if (on) marked.add(id);
    else marked.delete(id);
    sessionStorage.setItem('trainyard-marked', [...marked].join(','));
    render();
  };

  const onKey = (e: KeyboardEvent) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement;
    if (e.key === '/' && !typing) {
      e.preventDefault();
      search.focus();
      return;
    }
    if (typing && e.target !== search) return;
    if (typing && !['ArrowDown', 'ArrowUp', 'Enter', 'Escape'].includes(e.key)) return;
    if (e.key === 'Escape') {
      (e.target as HTMLElement).blur?.();
      table.focus();
      return;
    }
    const next = moveSelection(e.key, selected, rows.length);
    if (next !== null) {
      e.preventDefault();
      if (typing) table.focus();
      select(next);
    } else if (e.key === 'Enter' && selected >= 0) {
      e.preventDefault();
      open(selected);
    } else if (e.key === 'x' && selected >= 0) {
      const run = rows[selected]!;
      mark(run.id, !marked.has(run.id));
    }
  };
  document.addEventListener('keydown', onKey);

  let debounce: number | undefined;
  const changed = () => {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => {
      selected = -1;
      const q = query();
      if (spec.value.trim()) q.set('spec', spec.value.trim());
      history.replaceState(null, '', `#/?${q}`);
      void load();
    }, 250);
  };
  for (const el of [search, spec, sort, tags]) el.addEventListener('input', changed);
  for (const el of [status, kind, order, archived]) el.addEventListener('change', changed);

  clear(
    root,
    h('div', { class: 'toolbar' }, search, status, kind, tags, archived, sort, sorts, order, spec, compare),
    h('p', { class: 'hint muted' }, '↑/↓ or k/j to move · Enter to open · x to mark for comparison · / to search'),
    message,
    h('div', { class: 'table-wrap' }, table),
    more,
  );
  render();
  void load();
  // The first page is read again every 5 s while the page is open and shows only that page (one
  // request, however many runs there are); once more was loaded, the rows stay as they were read.
  const timer = window.setInterval(() => {
    if (!showingMore && document.visibilityState === 'visible') void load();
  }, 5000);
  return () => {
    window.clearInterval(timer);
    document.removeEventListener('keydown', onKey);
  };
}

/** The table's filters as the client's query: a parameter given more than once (`tag`) as a list. */
function listQuery(q: URLSearchParams): RunListQuery {
  const query: RunListQuery = {};
  for (const name of new Set(q.keys())) {
    const values = q.getAll(name);
    query[name] = values.length > 1 ? values : values[0];
  }
  return query;
}

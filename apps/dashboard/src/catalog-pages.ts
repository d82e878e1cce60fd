import type { DatasetSummary, DatasetView, ModelSummary } from '@trainyard/contracts';
import { api, errorText } from './api';
import { clear, h } from './dom';
import { listTable, pagedListPage } from './list-page';
import { timeElement } from './local-time';

/** Registered models by name: each version, the run that made it (linked) and its checkpoint. */
export function modelsPage(root: HTMLElement): () => void {
  return pagedListPage<ModelSummary>(root, {
    title: 'Models',
    fetchPage: (query) => api.listModels(query),
    empty: 'No registered models: `trainyard models register NAME RUN`.',
    container: h('div', { id: 'models' }),
    render: (rows) =>
      rows.map((m) =>
        h(
          'section',
          { class: 'card model', 'data-model': m.name },
          h('h2', {}, m.name, h('span', { class: 'muted' }, ` · v${m.latestVersion} · project ${m.project}`)),
          h(
            'table',
            { class: 'compact' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Version', 'Made by run', 'Checkpoint', 'Registered'].map((c) => h('th', {}, c)),
              ),
            ),
            h(
              'tbody',
              {},
              m.versions.map((v) =>
                h(
                  'tr',
                  { 'data-version': v.version },
                  h('td', {}, `v${v.version}`),
                  h('td', {}, h('a', { href: `#/runs/${v.runId}`, class: 'version-run' }, v.runId)),
                  h('td', { class: 'muted', title: v.checkpointId }, v.checkpointId.slice(0, 8)),
                  h('td', { class: 'muted' }, timeElement(v.createdAt)),
                ),
              ),
            ),
          ),
          m.versionCount > m.versions.length
            ? h('p', { class: 'muted' }, `${m.versionCount - m.versions.length} older versions not shown`)
            : '',
        ),
      ),
  });
}

/** Sample images shown per class on a dataset's page (the API serves up to 16). */
const SAMPLES_SHOWN = 8;

/**
 * Registered image folders a page at a time, newest first, with their class and image counts;
 * under them the selected one's classes, fetched on its own (it may be on a page not loaded yet),
 * each with a few sample images.
 */
export function datasetsPage(root: HTMLElement, selected?: string): () => void {
  const list = h('div');
  const detail = h('div');
  clear(root, list, detail);
  const body = h('tbody');
  const leave = pagedListPage<DatasetSummary>(list, {
    title: 'Datasets',
    fetchPage: (query) => api.listDatasets(query),
    empty: 'No registered datasets: `trainyard datasets register NAME --path DIR`.',
    container: body,
    frame: listTable('datasets-table', ['Name', 'Classes', 'Images', 'Where'], body),
    render: (rows) =>
      rows.map((d) =>
        h(
          'tr',
          { class: d.id === selected ? 'selected' : '', 'data-id': d.id },
          h('td', {}, h('a', { href: `#/datasets/${d.id}` }, d.name)),
          h('td', { class: 'num', title: d.firstClassNames.join(', ') }, d.classCount),
          h('td', { class: 'num' }, d.images),
          h('td', { class: 'muted' }, d.uri),
        ),
      ),
  });
  if (selected !== undefined) {
    clear(detail, h('p', { class: 'muted' }, 'Loading…'));
    void api
      .dataset(selected)
      .then((d) => clear(detail, datasetDetail(d)))
      .catch((err: unknown) => clear(detail, h('p', { class: 'error' }, errorText(err))));
  }
  return leave;
}

function datasetDetail(d: DatasetView): HTMLElement {
  const most = Math.max(...d.counts, 1);
  return h(
    'section',
    { class: 'card', id: 'dataset-detail' },
    h('h2', {}, `Dataset ${d.name} · ${d.classNames.length} classes · ${d.images} images`),
    h(
      'table',
      { class: 'compact classes' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Class', 'Images', '', 'Samples'].map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        d.classNames.map((name, i) => {
          const count = d.counts[i] ?? 0;
          return h(
            'tr',
            { 'data-class': name },
            h('td', {}, name),
            h('td', { class: 'num' }, count),
            h('td', {}, h('div', { class: 'bar class-bar' }, h('div', { style: `width:${(100 * count) / most}%` }))),
            h(
              'td',
              { class: 'samples' },
              Array.from({ length: Math.min(count, SAMPLES_SHOWN) }, (_, n) => {
                const img = h('img', {
                  class: 'sample',
                  src: api.datasetSampleUrl(d.id, i, n),
                  alt: `${name} #${n + 1}`,
                  loading: 'lazy',
                  width: 48,
                  height: 48,
                });
                // A file the API will not serve (not an image, too large) is left out, not shown broken.
                img.addEventListener('error', () => img.remove());
                return img;
              }),
            ),
          );
        }),
      ),
    ),
  );
}

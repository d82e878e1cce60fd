import type { PageQuery } from '@trainyard/client/browser';
import { errorText } from './api';
import { clear, h } from './dom';

/** Rows asked for at a time by the paged lists (the API allows 1 to 100). */
const PAGE_SIZE = 50;

export interface PagedListOptions<T> {
  /** The page title. */
  title: string;
  /** One page of the list, by the client's keyset paging (newest first). */
  fetchPage(query: PageQuery): Promise<{ items: T[]; nextCursor: string | null }>;
  /** What the status line says when there is nothing to list. */
  empty: string;
  /** Where the items go (a table's tbody, a div), redrawn with every item loaded so far. */
  container: HTMLElement;
  /** The items' elements. */
  render(items: T[]): Node[];
  /** What surrounds the container on the page (a table around a tbody); the container itself by default. */
  frame?: HTMLElement;
  /** Reload the first page every 5 s while the tab is visible and no further page was asked for. */
  refresh?: boolean;
}

/**
 * A list page read a page at a time: a title, a status line (empty list, errors), the items and a
 * "Load more" button that follows the cursor. Answers the page's leave function.
 */
export function pagedListPage<T>(root: HTMLElement, options: PagedListOptions<T>): () => void {
  let items: T[] = [];
  let nextCursor: string | null = null;
  let stopped = false;
  // As on the runs table: past the first page the refresh (which reads the first page alone) would
  // drop the rows loaded after it, and an older answer landing after a newer one would put them back.
  let showingMore = false;
  let asked = 0;
  const message = h('p', { class: 'muted', role: 'status' });
  const more = h('button', { type: 'button', hidden: true, onclick: () => void load(true) }, 'Load more');
  const load = async (append = false) => {
    showingMore ||= append;
    const turn = ++asked;
    try {
      const page = await options.fetchPage({
        limit: PAGE_SIZE,
        cursor: append ? (nextCursor ?? undefined) : undefined,
      });
      if (stopped || turn !== asked) return;
      items = append ? [...items, ...page.items] : page.items;
      nextCursor = page.nextCursor;
      message.textContent = items.length ? '' : options.empty;
      clear(options.container, options.render(items));
      more.hidden = !nextCursor;
    } catch (err) {
      if (turn === asked) message.textContent = errorText(err);
    }
  };
  clear(root, h('h1', {}, options.title), message, options.frame ?? options.container, more);
  void load();
  const timer = options.refresh
    ? window.setInterval(() => !showingMore && document.visibilityState === 'visible' && void load(), 5000)
    : undefined;
  return () => {
    stopped = true;
    window.clearInterval(timer);
  };
}

/** A scrolling table with a header row of `columns` around `body` (its tbody). */
export function listTable(id: string, columns: string[], body: HTMLElement): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      body,
    ),
  );
}

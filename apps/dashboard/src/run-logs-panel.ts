import type { RunLogLine, RunLogPage } from '@trainyard/contracts';
import { getJson } from './api';
import { clear, h } from './dom';

/** Lines kept on the page; older ones leave the top as new ones arrive. */
const MAX_SHOWN = 5000;
const PAGE = 1000;

/**
 * A run's log: what the worker said about it and what its training printed, every attempt. Loads
 * what is stored, then follows new lines over server-sent events until the run ends. Log text
 * only ever becomes text nodes.
 */
export function runLogsPanel(runId: string): { element: HTMLElement; close(): void } {
  const lines = h('div', { class: 'run-log', id: 'run-log', role: 'log', 'aria-live': 'off', tabindex: 0 });
  const state = h('span', { class: 'muted', id: 'run-log-state' }, 'loading…');
  const element = h('section', { class: 'card' }, h('h2', {}, 'Logs ', state), lines);
  let stream: EventSource | undefined;
  let closed = false;

  const show = (batch: RunLogLine[]) => {
    // Follow the tail only if the reader is already there: scrolling up to read stays put.
    const atBottom = lines.scrollHeight - lines.scrollTop - lines.clientHeight < 24;
    if (batch.length) lines.querySelector('.log-empty')?.remove();
    for (const line of batch) {
      lines.append(
        h(
          'div',
          { class: `log-line source-${line.source} level-${line.level}` },
          h('span', { class: 'muted', title: line.t }, line.t.slice(11, 19)),
          ' ',
          h('span', { class: 'log-source' }, `#${line.attempt} ${line.source}`),
          ' ',
          line.msg,
        ),
      );
    }
    while (lines.childElementCount > MAX_SHOWN) lines.firstElementChild?.remove();
    if (atBottom) lines.scrollTop = lines.scrollHeight;
  };

  const follow = (after: string) => {
    // The session cookie goes with it; a dropped stream reconnects by itself, resuming after the
    // last line it got (Last-Event-ID).
    stream = new EventSource(`/v1/runs/${runId}/logs?follow=true&after=${encodeURIComponent(after)}`);
    stream.onopen = () => (state.textContent = '● following');
    stream.onerror = () => (state.textContent = 'reconnecting…');
    stream.addEventListener('line', (e) => show([JSON.parse((e as MessageEvent).data) as RunLogLine]));
    stream.addEventListener('end', () => {
      stream?.close();
      state.textContent = '';
    });
  };

  const load = async () => {
    let after = '';
    for (;;) {
      const page = await getJson<RunLogPage>(
        `/v1/runs/${runId}/logs?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      if (closed) return;
      show(page.lines);
      after = page.next;
      if (page.lines.length < PAGE) {
        if (lines.childElementCount === 0)
          lines.append(
            h(
              'p',
              { class: 'muted log-empty' },
              page.complete ? 'This run logged nothing.' : 'Nothing yet: lines appear once a worker starts the run.',
            ),
          );
        if (page.complete) state.textContent = '';
        else follow(after);
        return;
      }
    }
  };

  void load().catch((err: Error) => clear(lines, h('p', { class: 'error' }, err.message)));
  return {
    element,
    close: () => {
      closed = true;
      stream?.close();
    },
  };
}

import type { RunLogLine } from '@trainyard/contracts';
import { api, errorText } from './api';
import { clear, h } from './dom';
import { keepFollowing } from './live-stream';
import { timeElement, zoneHeading } from './local-time';

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
  // Line times are the reader's local time, as every time on the dashboard: the heading names the zone.
  const zone = h('span', { class: 'muted', id: 'run-log-zone' }, `(${zoneHeading()})`);
  const element = h('section', { class: 'card' }, h('h2', {}, 'Logs ', zone, ' ', state), lines);
  let stream: { close(): void } | undefined;
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
          h('span', { class: 'muted' }, timeElement(line.t, 'clock')),
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

  const follow = (from: string) => {
    // The session cookie goes with it; a dropped stream is opened again, resuming after the last
    // line it got (each line's cursor), until the server says the run's log has ended.
    let after = from;
    stream = keepFollowing(
      async (signal) => {
        state.textContent = '● following';
        for await (const { cursor, line } of api.followLogCursors(runId, { after }, { signal })) {
          show([line]);
          if (cursor) after = cursor;
        }
        state.textContent = '';
        return true;
      },
      () => (state.textContent = 'reconnecting…'),
    );
  };

  const load = async () => {
    let after = '';
    for (;;) {
      const page = await api.logs(runId, { limit: PAGE, after: after || undefined });
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

  void load().catch((err: unknown) => clear(lines, h('p', { class: 'error' }, errorText(err))));
  return {
    element,
    close: () => {
      closed = true;
      stream?.close();
    },
  };
}

import { formatBytes } from '@trainyard/client/browser';
import type { RunDetailView } from '@trainyard/contracts';
import { api, errorText } from './api';
import { clear, h } from './dom';

/**
 * A run's name, tags and notes, with an edit form; archive/unarchive; and delete, which first
 * shows what would go (the API's dry run) and asks again. Notes are Markdown, shown as plain text
 * (line breaks kept): nothing a person wrote becomes HTML.
 */
export function runHousekeepingPanel(
  onChanged: () => void,
  onDeleted: () => void,
): { element: HTMLElement; show: (run: RunDetailView) => void } {
  const element = h('section', { class: 'card', id: 'housekeeping' });
  const message = h('p', { class: 'muted', role: 'status', id: 'housekeeping-status' });
  let run: RunDetailView | null = null;

  const act = async (work: () => Promise<void>) => {
    message.textContent = '';
    try {
      await work();
    } catch (err) {
      message.textContent = errorText(err);
      message.className = 'error';
    }
  };

  const view = () => {
    if (!run) return;
    const r = run;
    const archive = h(
      'button',
      {
        type: 'button',
        id: 'archive-run',
        onclick: () =>
          void act(async () => {
            await api.archive(r.id, !r.archivedAt);
            onChanged();
          }),
      },
      r.archivedAt ? 'Unarchive' : 'Archive',
    );
    clear(
      element,
      h(
        'h2',
        {},
        'Tags and notes',
        r.archivedAt ? h('span', { class: 'badge cancelled', id: 'archived-badge' }, 'archived') : '',
      ),
      h(
        'p',
        { class: 'chips', id: 'run-tags' },
        r.tags.length
          ? r.tags.map((tag) => h('a', { class: 'chip', href: `#/?tag=${encodeURIComponent(tag)}` }, tag))
          : h('span', { class: 'muted' }, 'No tags.'),
      ),
      // textContent with `white-space: pre-wrap` (styles.css): the Markdown as written, never as HTML.
      h('div', { class: 'notes', id: 'run-notes' }, r.notes ?? ''),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'button', id: 'edit-run', onclick: edit }, 'Edit'),
        archive,
        h(
          'button',
          { type: 'button', class: 'danger', id: 'delete-run', onclick: () => void act(confirmDelete) },
          'Delete…',
        ),
      ),
      message,
    );
  };

  function edit(): void {
    if (!run) return;
    const r = run;
    const name = h('input', { value: r.name, 'aria-label': 'Name', id: 'edit-name', size: 40 });
    const tags = h('input', {
      value: r.tags.join(' '),
      'aria-label': 'Tags, space separated',
      id: 'edit-tags',
      size: 40,
      placeholder: 'baseline lr:1e-3',
    });
    const notes = h('textarea', { 'aria-label': 'Notes (Markdown)', id: 'edit-notes', rows: 8, cols: 60 });
    notes.value = r.notes ?? '';
    const form = h(
      'form',
      {
        class: 'edit-run',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void act(async () => {
            const change = {
              name: name.value.trim(),
              tags: tags.value.split(/[\s,]+/).filter(Boolean),
              notes: notes.value === '' ? null : notes.value,
            };
            run = await api.updateRun(r.id, change);
            view();
            onChanged();
          });
        },
      },
      h('label', {}, 'Name ', name),
      h('label', {}, 'Tags ', tags),
      h('label', {}, 'Notes (Markdown) ', notes),
      h(
        'div',
        { class: 'toolbar' },
        h('button', { type: 'submit', class: 'primary', id: 'save-run' }, 'Save'),
        h('button', { type: 'button', onclick: view }, 'Cancel'),
      ),
    );
    clear(element, h('h2', {}, 'Edit run'), form, message);
    name.focus();
  }

  async function confirmDelete(): Promise<void> {
    if (!run) return;
    const r = run;
    const dry = await api.deleteRun(r.id, { dryRun: true });
    const confirm = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        id: 'confirm-delete',
        onclick: () =>
          void act(async () => {
            await api.deleteRun(r.id);
            onDeleted();
          }),
      },
      'Delete for good',
    );
    clear(
      element,
      h('h2', {}, `Delete ${r.name}?`),
      h(
        'ul',
        { id: 'deletion-summary' },
        h('li', {}, `${dry.metricPoints} metric points`),
        h('li', {}, `${dry.checkpoints.count} checkpoints (${formatBytes(dry.checkpoints.bytes)})`),
        h('li', {}, `${dry.attempts} attempts`),
        h(
          'li',
          {},
          `${dry.objects.count} stored objects (${formatBytes(dry.objects.bytes)}) under ${dry.objects.prefix}`,
        ),
        dry.sweep ? h('li', {}, `its place on the leaderboard of sweep ${dry.sweep.name}`) : null,
        dry.pipeline ? h('li', {}, `its step of pipeline ${dry.pipeline.name} (left without its run)`) : null,
      ),
      h('div', { class: 'toolbar' }, confirm, h('button', { type: 'button', onclick: view }, 'Keep it')),
      message,
    );
  }

  return {
    element,
    show: (next) => {
      run = next;
      // A refresh (a status event) must not close a form being filled in.
      if (!element.querySelector('form, #confirm-delete')) view();
    },
  };
}

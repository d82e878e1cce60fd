import { errorText } from './api';
import { h } from './dom';

/**
 * A danger button that asks once more before it acts, as for deleting a run: the first click
 * shows a second button saying what will happen, the second does it and reports in `message`.
 * `button` is the first; place `confirm` beside it.
 */
export function confirmedAction(o: {
  /** The two buttons' ids: `id` and `confirm-${id}`. */
  id: string;
  label: string;
  confirmLabel: string;
  message: HTMLElement;
  /** What the second click does; its answer's words go to `message`. */
  act: () => Promise<string>;
}): { button: HTMLButtonElement; confirm: HTMLButtonElement } {
  const confirm = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      id: `confirm-${o.id}`,
      hidden: true,
      onclick: async () => {
        confirm.disabled = true;
        try {
          o.message.textContent = await o.act();
        } catch (err) {
          o.message.textContent = errorText(err);
        } finally {
          confirm.hidden = true;
          confirm.disabled = false;
        }
      },
    },
    o.confirmLabel,
  );
  const button = h(
    'button',
    { type: 'button', class: 'danger', id: o.id, onclick: () => (confirm.hidden = false) },
    o.label,
  );
  return { button, confirm };
}

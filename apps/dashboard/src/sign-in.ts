import type { SessionView, Whoami } from '@trainyard/contracts';
import { clear, h } from './dom';

/** Who the session cookie signs in as, or null when there is no valid one. */
export async function whoami(): Promise<Whoami | null> {
  const res = await fetch('/v1/whoami', { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  return res.ok ? ((await res.json()) as Whoami) : null;
}

export async function signOut(): Promise<void> {
  await fetch('/v1/session', { method: 'DELETE', credentials: 'same-origin' });
}

/** The key is sent once, to be set as an HttpOnly cookie; the page never stores it. */
export function signInPage(root: HTMLElement, signedIn: (me: SessionView) => void): void {
  const input = h('input', {
    type: 'password',
    id: 'api-key',
    name: 'key',
    autocomplete: 'off',
    placeholder: 'ty_…',
    required: true,
    size: 48,
  });
  const problem = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'sign-in',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        problem.textContent = '';
        const res = await fetch('/v1/session', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify({ key: input.value.trim() }),
        });
        input.value = '';
        const body = await res.json().catch(() => ({}));
        if (res.ok) signedIn(body as SessionView);
        else problem.textContent = `${res.status} ${body.message ?? res.statusText}`;
      },
    },
    h('h1', {}, 'Sign in'),
    h(
      'p',
      {},
      'Paste an API key (an admin creates them with POST /v1/keys or ',
      h('code', {}, 'npm run keys -- create'),
      ').',
    ),
    h('label', { for: 'api-key' }, 'API key '),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    problem,
  );
  clear(root, form);
  input.focus();
}

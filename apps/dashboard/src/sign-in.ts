import type { SessionView, Whoami } from '@trainyard/contracts';
import { TrainyardApiError } from '@trainyard/client/browser';
import { errorText, sessionApi } from './api';
import { clear, h } from './dom';

/**
 * Who the session cookie signs in as, or null when there is no valid one (a 401). Any other failure
 * (the API unreachable a moment) is thrown: it says nothing about the session, and asking for a key
 * then would tell the reader they were signed out when they were not.
 */
export async function whoami(): Promise<Whoami | null> {
  return sessionApi.whoami().catch((err: unknown) => {
    if (err instanceof TrainyardApiError && err.status === 401) return null;
    throw err;
  });
}

export async function signOut(): Promise<void> {
  await sessionApi.deleteSession();
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
        const key = input.value.trim();
        input.value = '';
        try {
          signedIn(await sessionApi.createSession(key));
        } catch (err) {
          problem.textContent = errorText(err);
        }
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

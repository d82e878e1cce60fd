import type { SessionView } from '@trainyard/contracts';
import { errorText, UNAUTHORIZED_EVENT } from './api';
import { datasetsPage, modelsPage } from './catalog-pages';
import { comparePage } from './compare-page';
import { clear, h } from './dom';
import { fleetPage } from './fleet-page';
import { pipelinePage, pipelinesPage } from './pipelines-page';
import { runPage } from './run-page';
import { runsPage } from './runs-page';
import { signInPage, signOut, whoami } from './sign-in';
import { sweepPage, sweepsPage } from './sweeps-page';

/** Hash routes, so the API serves one page at `/` and every view has a shareable address. */
const root = document.getElementById('app')!;
let leave: () => void = () => undefined;

/**
 * The sign-in form is up. A page asked for meanwhile is drawn once a key is given, and a 401 from
 * a request still in flight leaves the form as it is: redrawing it would wipe what is being typed.
 */
let signingIn = false;

function route(): void {
  if (signingIn) return;
  leave();
  const [path = '/', query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const run = /^\/runs\/([0-9a-f-]{36})$/i.exec(path);
  // `/pipelines/<id>`, `/sweeps/<id>`, `/datasets/<id>`: a page of one, under its list's tab.
  const one = /^\/(pipelines|sweeps|datasets)\/([0-9a-f-]{36})$/i.exec(path);
  for (const link of document.querySelectorAll('nav a'))
    link.classList.toggle('active', link.getAttribute('data-route') === (run ? 'runs' : path.split('/')[1] || 'runs'));
  if (run) leave = runPage(root, run[1]!);
  else if (one?.[1] === 'pipelines') leave = pipelinePage(root, one[2]!);
  else if (one?.[1] === 'sweeps') leave = sweepPage(root, one[2]!);
  else if (one?.[1] === 'datasets') leave = datasetsPage(root, one[2]!);
  else if (path === '/pipelines') leave = pipelinesPage(root);
  else if (path === '/sweeps') leave = sweepsPage(root);
  else if (path === '/models') leave = modelsPage(root);
  else if (path === '/datasets') leave = datasetsPage(root);
  else if (path === '/compare') leave = comparePage(root, (params.get('ids') ?? '').split(',').filter(Boolean));
  else if (path === '/fleet') leave = fleetPage(root);
  else leave = runsPage(root);
  window.scrollTo(0, 0);
}

/** Light, dark, or the system's choice (the default), remembered in this browser. */
function setupTheme(): void {
  const button = document.getElementById('theme')!;
  const apply = (theme: string | null) => {
    if (theme) document.documentElement.dataset['theme'] = theme;
    else delete document.documentElement.dataset['theme'];
    button.textContent = theme === 'dark' ? '☾ dark' : theme === 'light' ? '☀ light' : '◐ auto';
    document.dispatchEvent(new Event('themechange'));
  };
  apply(localStorage.getItem('trainyard-theme'));
  button.addEventListener('click', () => {
    const next =
      { auto: 'light', light: 'dark', dark: 'auto' }[localStorage.getItem('trainyard-theme') ?? 'auto'] ?? 'auto';
    if (next === 'auto') localStorage.removeItem('trainyard-theme');
    else localStorage.setItem('trainyard-theme', next);
    apply(next === 'auto' ? null : next);
  });
}

/** The header names the key's owner and project, with a way out. */
function showWho(me: SessionView | null): void {
  const who = document.getElementById('who')!;
  if (!me) return clear(who);
  // The cookie is cleared by the API: if it cannot be reached, the session is still there, and the reader must know.
  const problem = h('span', { class: 'error', role: 'alert' });
  const leaveSession = async () => {
    problem.textContent = '';
    try {
      await signOut();
    } catch (err) {
      problem.textContent = ` Not signed out: ${errorText(err)} `;
      return;
    }
    askForKey();
  };
  clear(
    who,
    `${me.name}${me.project ? ` · project ${me.project}` : ''} `,
    h('button', { type: 'button', id: 'sign-out', onclick: () => void leaveSession() }, 'Sign out'),
    problem,
  );
}

function askForKey(): void {
  if (signingIn) return;
  signingIn = true;
  leave();
  leave = () => undefined;
  showWho(null);
  signInPage(root, (me) => {
    signingIn = false;
    showWho(me);
    route();
  });
}

setupTheme();
window.addEventListener('hashchange', route);
document.addEventListener(UNAUTHORIZED_EVENT, askForKey);
/** Who is signed in, then the page; while the API cannot be reached, said so and asked again every 3 s. */
function start(): void {
  whoami().then(
    (me) => {
      if (!me) return askForKey();
      showWho(me);
      route();
    },
    (err: unknown) => {
      clear(root, h('p', { class: 'error', id: 'api-unreachable' }, `${errorText(err)} — trying again…`));
      window.setTimeout(start, 3000);
    },
  );
}
start();

import { defaultLimitText, formatBytes, projectLimitText } from '@trainyard/client/browser';
import type { ProjectLimitsList, ProjectLimitsView, Whoami } from '@trainyard/contracts';
import { api, errorText } from './api';
import { clear, h } from './dom';
import { formatAgo, formatDuration, queueCountsShown } from './format';
import { timeTitle } from './local-time';
import { whoami } from './sign-in';

/**
 * Per resource class: queue depths by state, runs waiting and for how long, the jobs being
 * trained; every worker's classes, backend, GPU and heartbeat; and the projects' limits on runs
 * training at once (every project with its own for an operator's admin key, its own project for a
 * project's key).
 */
export function fleetPage(root: HTMLElement): () => void {
  let me: Promise<Whoami | null> | undefined;
  const load = async () => {
    try {
      me ??= whoami();
      const [queues, workers, limits] = await Promise.all([api.queues(), api.workers(), projectLimits(await me)]);
      clear(
        root,
        h('h1', {}, 'Queues & workers'),
        queues.queues.map((q) =>
          h(
            'section',
            { class: 'card' },
            h('h2', {}, `Class ${q.resourceClass} `, h('span', { class: 'muted' }, `queue ${q.name}`)),
            h(
              'p',
              { class: 'waiting' },
              q.waitingRuns
                ? `${q.waitingRuns} run${q.waitingRuns === 1 ? '' : 's'} waiting; the longest for ${formatDuration((q.oldestWaitSeconds ?? 0) * 1000)}`
                : 'No run waiting.',
            ),
            h(
              'div',
              { class: 'counts' },
              queueCountsShown(q.counts).map(([state, n]) =>
                h('div', { class: 'count' }, h('strong', {}, n), h('span', { class: 'muted' }, state)),
              ),
            ),
            q.active.length
              ? h(
                  'table',
                  { class: 'compact' },
                  h(
                    'thead',
                    {},
                    h('tr', {}, ...['Active run', 'Epoch', 'Attempts', 'Since'].map((c) => h('th', {}, c))),
                  ),
                  h(
                    'tbody',
                    {},
                    q.active.map((job) => {
                      const p = typeof job.progress === 'object' ? job.progress : null;
                      return h(
                        'tr',
                        {},
                        h('td', {}, h('a', { href: `#/runs/${job.runId}` }, job.runId ?? job.id)),
                        h('td', {}, p?.epoch !== undefined ? `${p.epoch}/${p.epochs}` : '—'),
                        h('td', {}, job.attemptsMade + 1),
                        job.processedOn ? agoCell(new Date(job.processedOn).toISOString()) : h('td', {}, '—'),
                      );
                    }),
                  ),
                )
              : h('p', { class: 'muted' }, 'No job is being trained.'),
          ),
        ),
        h(
          'section',
          { class: 'card' },
          h('h2', {}, 'Workers'),
          workers.workers.length === 0
            ? h('p', { class: 'muted' }, 'No worker has registered.')
            : h(
                'table',
                { class: 'compact', id: 'workers' },
                h(
                  'thead',
                  {},
                  h(
                    'tr',
                    {},
                    ...['Worker', 'State', 'Backend', 'GPU', 'Classes', 'Heartbeat', 'Training', 'Host'].map((c) =>
                      h('th', {}, c),
                    ),
                  ),
                ),
                h(
                  'tbody',
                  {},
                  workers.workers.map((w) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, w.id),
                      h(
                        'td',
                        {},
                        h(
                          'span',
                          { class: `badge ${w.state}`, title: w.drainMode ? `drain: ${w.drainMode}` : '' },
                          w.state,
                        ),
                      ),
                      h('td', {}, w.backend ?? '—'),
                      h('td', {}, gpuText(w)),
                      h('td', {}, w.resourceClasses.join(', ')),
                      agoCell(w.lastHeartbeatAt),
                      h(
                        'td',
                        {},
                        w.running.map((r) =>
                          h('a', { href: `#/runs/${r.runId}` }, `${r.runId.slice(0, 8)} #${r.number} `),
                        ),
                      ),
                      h('td', { class: 'muted' }, `${w.hostname} pid ${w.pid}`),
                    ),
                  ),
                ),
              ),
        ),
        limits ? projectLimitsCard(limits) : [],
      );
    } catch (err) {
      clear(root, h('p', { class: 'error' }, errorText(err)));
    }
  };
  void load();
  const timer = window.setInterval(() => document.visibilityState === 'visible' && void load(), 5000);
  return () => window.clearInterval(timer);
}

/** A time as how long ago, the instant itself (UTC and local) in its tooltip. */
function agoCell(iso: string): HTMLElement {
  return h('td', {}, h('time', { datetime: iso, title: timeTitle(iso) }, formatAgo(iso)));
}

/** "2 × NVIDIA H100 (80 GiB)", or "none" on a CPU worker. */
function gpuText(w: { gpu: string | null; gpuCount: number; gpuMemoryMb: number | null }): string {
  if (!w.gpu || w.gpuCount === 0) return 'none';
  const memory = w.gpuMemoryMb === null ? '' : ` (${Math.round(w.gpuMemoryMb / 1024)} GiB)`;
  return `${w.gpuCount > 1 ? `${w.gpuCount} × ` : ''}${w.gpu}${memory}`;
}

/** What the signed-in key may see of the projects' limits; null: nothing (a read-only operator key cannot list them). */
async function projectLimits(me: Whoami | null): Promise<ProjectLimitsList | null> {
  if (me?.project) {
    const own = await api.projectLimits(me.project);
    const { defaultMaxRunning, workersMaxRunning, defaultMaxQueued, defaultMaxPriority, defaultMaxUploadBytes } = own;
    return {
      defaultMaxRunning,
      workersMaxRunning,
      defaultMaxQueued,
      defaultMaxPriority,
      defaultMaxUploadBytes,
      items: [own],
    };
  }
  return me?.scopes.includes('admin') ? api.listProjectLimits() : null;
}

/** "1.2 GiB of 50.0 GiB (the default)", with what uploads in progress set aside when they have. */
function uploadsText(p: ProjectLimitsView): string {
  const held = `${formatBytes(p.uploadedBytes)} of ${formatBytes(p.effectiveMaxUploadBytes)}`;
  const own = p.maxUploadBytes === null ? 'the default' : 'its own';
  const inProgress = p.uploadsInProgressBytes > 0 ? `; ${formatBytes(p.uploadsInProgressBytes)} in progress` : '';
  return `${held} (${own})${inProgress}`;
}

function projectLimitsCard(limits: ProjectLimitsList): HTMLElement {
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'Project limits'),
    h(
      'p',
      { class: 'muted' },
      `Runs of one project training at once and waiting at once, the highest priority its specs may name, and the bytes its uploaded datasets may hold. Defaults: ${defaultLimitText(limits)} (PROJECT_MAX_RUNNING), ${limits.defaultMaxQueued} waiting (QUOTA_QUEUED_RUNS), priority up to ${limits.defaultMaxPriority} (QUOTA_MAX_PRIORITY), ${formatBytes(limits.defaultMaxUploadBytes)} of uploads (QUOTA_PROJECT_UPLOAD_BYTES); an operator sets a project's own with `,
      h('code', {}, 'trainyard limits PROJECT --max-running N --max-queued M --max-priority P --max-upload-bytes B'),
      '.',
    ),
    limits.items.length === 0
      ? h('p', { class: 'muted' }, 'No project has limits of its own.')
      : h(
          'table',
          { class: 'compact', id: 'project-limits' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...[
                'Project',
                'Limit',
                'Queued quota',
                'Priority cap',
                'Training',
                'Waiting',
                'Uploads',
                'Checkpoints',
              ].map((c) => h('th', {}, c)),
            ),
          ),
          h(
            'tbody',
            {},
            limits.items.map((p) =>
              h(
                'tr',
                {},
                h('td', {}, p.project),
                h('td', {}, projectLimitText(p)),
                h('td', {}, `${p.effectiveMaxQueued} (${p.maxQueued === null ? 'the default' : 'its own'})`),
                h('td', {}, `${p.effectiveMaxPriority} (${p.maxPriority === null ? 'the default' : 'its own'})`),
                h('td', {}, p.running),
                h('td', {}, p.waiting),
                h('td', {}, uploadsText(p)),
                h('td', {}, formatBytes(p.checkpointBytes)),
              ),
            ),
          ),
        ),
  );
}

import { defaultLimitText, formatBytes, projectLimitText } from '@trainyard/client';
import {
  decimalInt,
  MAX_PRIORITY,
  PROJECT_MAX_QUEUED_BOUND,
  PROJECT_MAX_RUNNING_BOUND,
  PROJECT_MAX_UPLOAD_BYTES_BOUND,
  ProjectNameSchema,
  type ProjectLimitsView,
  type WorkerList,
} from '@trainyard/contracts';
import { formatDuration, formatTable, formatTimestamp } from '../progress-line';
import { arg, checkFlag, expectArgs, printJson, type Command } from './command';
import { EXIT, usageError } from './exit-codes';

export const workersCommand: Command = {
  name: 'workers',
  usage: '[drain <id> [--finish] | undrain <id>]',
  summary: 'Registered workers with their state and the runs each trains; drain one (or take a drain back).',
  details: "A drain preempts the worker's runs (checkpoint, back to the queue); with --finish it lets them end there.",
  options: { finish: { type: 'boolean' } },
  optionHelp: { finish: 'drain: let the held runs finish instead of preempting them' },
  async run(ctx) {
    const client = ctx.client();
    const action = ctx.args[0];
    if (action === 'drain' || action === 'undrain') {
      expectArgs({ name: 'workers' }, ctx.args, 2, `${action} <id>`);
      const id = arg(ctx, 1, 'worker id');
      const worker =
        action === 'drain'
          ? await client.drainWorker(id, ctx.values['finish'] ? 'finish' : 'preempt', { signal: ctx.signal })
          : await client.undrainWorker(id, { signal: ctx.signal });
      if (ctx.json) printJson(ctx, worker);
      else ctx.out(`worker ${worker.id} ${worker.state}${worker.drainMode ? ` (${worker.drainMode})` : ''}\n`);
      return EXIT.OK;
    }
    if (action !== undefined) throw usageError(`Unknown workers subcommand "${action}"`);
    const { workers } = await client.workers({ signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, workers), EXIT.OK);
    const rows = workers.map((w) => [
      w.id,
      w.state,
      w.resourceClasses.join(',') || '-',
      w.backend ?? '-',
      w.gpu ?? '-',
      `${w.running.length}/${w.concurrency}`,
      runsText(w.running),
      formatTimestamp(w.lastHeartbeatAt),
    ]);
    const header = ['worker', 'state', 'classes', 'backend', 'gpu', 'running', 'runs', 'last heartbeat'];
    ctx.out(`${formatTable(header, rows)}\n`);
    return EXIT.OK;
  },
};

/** Runs listed by id in a worker's row; the rest are counted (`--json` has every one). */
const RUNS_SHOWN = 3;

/**
 * The runs a worker trains, by short id (the first 8 characters, as `trainyard compare` shows
 * runs), a few and then a count, so a GPU node's row stays readable.
 */
function runsText(running: WorkerList['workers'][number]['running']): string {
  if (running.length === 0) return '-';
  const shown = running.slice(0, RUNS_SHOWN).map((r) => r.runId.slice(0, 8));
  const more = running.length - shown.length;
  return `${shown.join(',')}${more > 0 ? ` +${more}` : ''}`;
}

export const queuesCommand: Command = {
  name: 'queues',
  usage: '',
  maxArgs: 0,
  summary: 'Training queues, one per resource class: jobs by state, and the runs waiting and for how long.',
  details:
    "waiting counts the jobs ready to be taken (BullMQ's waiting and prioritized: every run has a priority); " +
    'runs waiting and longest wait come from PostgreSQL (QUEUED and PREEMPTED runs).',
  async run(ctx) {
    const { queues } = await ctx.client().queues({ signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, queues), EXIT.OK);
    const count = (q: (typeof queues)[number], ...states: (keyof (typeof queues)[number]['counts'])[]) =>
      String(states.reduce((n, state) => n + (q.counts[state] ?? 0), 0));
    const rows = queues.map((q) => [
      q.name,
      q.resourceClass,
      count(q, 'waiting', 'prioritized'),
      count(q, 'delayed'),
      count(q, 'active'),
      count(q, 'failed'),
      String(q.waitingRuns),
      q.oldestWaitSeconds === null ? '-' : formatDuration(q.oldestWaitSeconds),
    ]);
    const header = ['queue', 'class', 'waiting', 'delayed', 'active', 'failed', 'runs waiting', 'longest wait'];
    ctx.out(`${formatTable(header, rows)}\n`);
    return EXIT.OK;
  },
};

/** `--max-running 4` or `--max-running default`: the value to send, or undefined when the flag is not given. */
function limitFlag(
  value: string | undefined,
  flag: string,
  [min, max]: readonly [number, number],
  what = 'a whole number of runs',
): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'default') return null;
  const n = decimalInt({ min, max }).safeParse(value);
  if (!n.success)
    throw usageError(`--${flag} takes ${what} from ${min} to ${max}, or "default" (got "${value}")`, `--${flag}`);
  return n.data;
}

const BYTE_UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  PiB: 1024 ** 5,
};

/** `--max-upload-bytes 500GiB`, `536870912000` or `default`: the bytes to send, or undefined when the flag is not given. */
function byteLimitFlag(value: string | undefined, flag: string): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'default') return null;
  const match = /^(0|[1-9]\d{0,15})(B|KiB|MiB|GiB|TiB|PiB)?$/.exec(value);
  const bytes = match ? Number(match[1]) * BYTE_UNITS[match[2] ?? 'B']! : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes > PROJECT_MAX_UPLOAD_BYTES_BOUND)
    throw usageError(
      `--${flag} takes a whole number of bytes from 0 to 1PiB, with an optional unit (B, KiB, MiB, GiB, TiB, PiB: 500GiB), or "default" (got "${value}")`,
      `--${flag}`,
    );
  return bytes;
}

const own = (n: number | null) => (n === null ? 'default' : String(n));
const ownBytes = (n: number | null) => (n === null ? 'default' : formatBytes(n));

/** "uploads hold 1.2 GiB of 50.0 GiB (its own quota), 300.0 MiB more …; checkpoints hold 12.0 GiB". */
function uploadsText(view: ProjectLimitsView): string {
  const quota = `${formatBytes(view.effectiveMaxUploadBytes)}${view.maxUploadBytes === null ? '' : ' (its own quota)'}`;
  const inProgress =
    view.uploadsInProgressBytes > 0
      ? `, ${formatBytes(view.uploadsInProgressBytes)} more set aside by uploads in progress`
      : '';
  return `uploads hold ${formatBytes(view.uploadedBytes)} of ${quota}${inProgress}; checkpoints hold ${formatBytes(view.checkpointBytes)}`;
}

export const limitsCommand: Command = {
  name: 'limits',
  usage:
    '[<project> [--max-running N|default] [--max-queued N|default] [--max-priority N|default] [--max-upload-bytes B|default]]',
  summary:
    "Projects' limits on runs training and waiting at once, on the priority they may ask for and on the bytes their uploads may hold: list them, show one project's, or change them.",
  details:
    "Without a project, lists every project with limits of its own and the defaults (PROJECT_MAX_RUNNING: the API's, else what the live workers apply; QUOTA_QUEUED_RUNS; QUOTA_MAX_PRIORITY; QUOTA_PROJECT_UPLOAD_BYTES), which needs an operator's admin key. " +
    'With one, shows what holds it, its runs training and waiting and what its uploads hold; --max-running, --max-queued, --max-priority and --max-upload-bytes set its own limits (an operator\'s admin key), "default" removes one. ' +
    'Raising the running limit lets the runs parked at the old one back in line at once; lowering it stops no run: the project starts none until it is below. A lower queued quota refuses new submits (429) and cancels nothing; a lower priority cap refuses specs above it (422) and leaves the runs already queued as they are; a lower upload quota refuses uploads past it (413) and deletes nothing.',
  options: {
    'max-running': { type: 'string' },
    'max-queued': { type: 'string' },
    'max-priority': { type: 'string' },
    'max-upload-bytes': { type: 'string' },
  },
  optionHelp: {
    'max-running': `the project's own limit on runs training at once: 1 to ${PROJECT_MAX_RUNNING_BOUND}, or default`,
    'max-queued': `the project's own quota of runs waiting at once: 1 to ${PROJECT_MAX_QUEUED_BOUND}, or default`,
    'max-priority': `the highest priority the project's specs may name: 0 to ${MAX_PRIORITY}, or default`,
    'max-upload-bytes':
      "the bytes the project's uploaded datasets may hold: 0 to 1PiB (500GiB, 536870912000), or default",
  },
  async run(ctx) {
    const client = ctx.client();
    const project = ctx.args[0];
    const flag = (name: string) => ctx.values[name] as string | undefined;
    const change = {
      maxRunning: limitFlag(flag('max-running'), 'max-running', [1, PROJECT_MAX_RUNNING_BOUND]),
      maxQueued: limitFlag(flag('max-queued'), 'max-queued', [1, PROJECT_MAX_QUEUED_BOUND]),
      maxPriority: limitFlag(flag('max-priority'), 'max-priority', [0, MAX_PRIORITY], 'a whole number'),
      maxUploadBytes: byteLimitFlag(flag('max-upload-bytes'), 'max-upload-bytes'),
    };
    const changes = Object.values(change).some((value) => value !== undefined);
    if (project === undefined) {
      if (changes) throw usageError('Name the project whose limits to change');
      const list = await client.listProjectLimits({ signal: ctx.signal });
      if (ctx.json) return (printJson(ctx, list), EXIT.OK);
      ctx.out(`default running limit (PROJECT_MAX_RUNNING): ${defaultLimitText(list)}\n`);
      ctx.out(`default queued quota (QUOTA_QUEUED_RUNS): ${list.defaultMaxQueued}\n`);
      ctx.out(`default priority cap (QUOTA_MAX_PRIORITY): ${list.defaultMaxPriority}\n`);
      ctx.out(`default upload quota (QUOTA_PROJECT_UPLOAD_BYTES): ${formatBytes(list.defaultMaxUploadBytes)}\n`);
      const rows = list.items.map((p) => [
        p.project,
        own(p.maxRunning),
        own(p.maxQueued),
        own(p.maxPriority),
        ownBytes(p.maxUploadBytes),
        String(p.running),
        String(p.waiting),
        formatBytes(p.uploadedBytes),
      ]);
      const header = [
        'project',
        'max running',
        'max queued',
        'max priority',
        'max uploads',
        'running',
        'waiting',
        'uploaded',
      ];
      if (rows.length > 0) ctx.out(`${formatTable(header, rows)}\n`);
      else ctx.out('no project has limits of its own\n');
      return EXIT.OK;
    }
    if (ctx.args.length > 1) throw usageError(`One project at a time (got ${ctx.args.length})`);
    checkFlag(ProjectNameSchema, project, 'project');
    const view = changes
      ? await client.setProjectLimits(project, change, { signal: ctx.signal })
      : await client.projectLimits(project, { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, view), EXIT.OK);
    ctx.out(
      `project ${view.project}: ${projectLimitText(view)}; ${view.running} training, ${view.waiting} waiting of ${view.effectiveMaxQueued} it may queue${view.maxQueued === null ? '' : ' (its own quota)'}; priority up to ${view.effectiveMaxPriority}${view.maxPriority === null ? '' : ' (its own cap)'}; ${uploadsText(view)}\n`,
    );
    return EXIT.OK;
  },
};

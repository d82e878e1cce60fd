import { defaultLimitText, projectLimitText } from '@trainyard/client';
import { formatDuration, formatTable } from '../progress-line';
import { arg, printJson, type Command } from './command';
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
      w.backend ?? '-',
      w.gpu ?? '-',
      `${w.running.length}/${w.concurrency}`,
      w.lastHeartbeatAt.slice(0, 19).replace('T', ' '),
    ]);
    ctx.out(`${formatTable(['worker', 'state', 'backend', 'gpu', 'running', 'last heartbeat'], rows)}\n`);
    return EXIT.OK;
  },
};

export const queuesCommand: Command = {
  name: 'queues',
  usage: '',
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

export const limitsCommand: Command = {
  name: 'limits',
  usage: '[<project> [--max-running N | --default]]',
  summary: "Projects' limits on runs training at once: list them, show one project's, or set it.",
  details:
    "Without a project, lists every project with a limit of its own and the default (PROJECT_MAX_RUNNING), which needs an operator's admin key. " +
    "With one, shows what holds it and its runs training and waiting; --max-running sets its own limit (an operator's admin key), --default removes it. " +
    'Raising a limit lets the runs parked at the old one back in line at once; lowering it stops no run: the project starts none until it is below.',
  options: { 'max-running': { type: 'string' }, default: { type: 'boolean' } },
  optionHelp: {
    'max-running': "set the project's own limit: 1 to 100000 runs at once",
    default: "remove the project's own limit (PROJECT_MAX_RUNNING applies again)",
  },
  async run(ctx) {
    const client = ctx.client();
    const project = ctx.args[0];
    const maxRunning = ctx.values['max-running'] as string | undefined;
    const toDefault = ctx.values['default'] === true;
    if (project === undefined) {
      if (maxRunning !== undefined || toDefault) throw usageError('Name the project whose limit to set');
      const list = await client.listProjectLimits({ signal: ctx.signal });
      if (ctx.json) return (printJson(ctx, list), EXIT.OK);
      ctx.out(`default (PROJECT_MAX_RUNNING): ${defaultLimitText(list)}\n`);
      const rows = list.items.map((p) => [p.project, String(p.maxRunning), String(p.running), String(p.waiting)]);
      if (rows.length > 0) ctx.out(`${formatTable(['project', 'max running', 'running', 'waiting'], rows)}\n`);
      else ctx.out('no project has a limit of its own\n');
      return EXIT.OK;
    }
    if (ctx.args.length > 1) throw usageError(`One project at a time (got ${ctx.args.length})`);
    if (maxRunning !== undefined && toDefault) throw usageError('Give --max-running or --default, not both');
    if (maxRunning !== undefined && !/^[1-9]\d{0,5}$/.test(maxRunning))
      throw usageError(`--max-running takes a whole number of runs from 1 to 100000 (got "${maxRunning}")`);
    const view =
      maxRunning !== undefined || toDefault
        ? await client.setProjectLimits(project, toDefault ? null : Number(maxRunning), { signal: ctx.signal })
        : await client.projectLimits(project, { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, view), EXIT.OK);
    ctx.out(`project ${view.project}: ${projectLimitText(view)}; ${view.running} training, ${view.waiting} waiting\n`);
    return EXIT.OK;
  },
};

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

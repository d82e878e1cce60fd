import { formatTable } from '../progress-line';
import { arg, printJson, str, type Command, type CommandContext } from './command';
import { EXIT, usageError } from './exit-codes';

const sub = (ctx: CommandContext) => ctx.args[0];

export const modelsCommand: Command = {
  name: 'models',
  usage: '<name> | register <name> <run>',
  summary:
    "A registered model's versions (which run and checkpoint made each), or register a run's checkpoint (its best, else its latest) as a new version.",
  details: 'The API lists versions by model name; it has no route listing every model name.',
  async run(ctx) {
    const client = ctx.client();
    if (sub(ctx) === 'register') {
      const version = await client.registerModel(arg(ctx, 1, 'model name'), arg(ctx, 2, 'run id'), {
        signal: ctx.signal,
      });
      if (ctx.json) printJson(ctx, version);
      else
        ctx.out(
          `${version.name} v${version.version}: run ${version.runId}, checkpoint #${version.checkpointSequence} (${version.models.join(', ')})\n`,
        );
      return EXIT.OK;
    }
    const { name, versions } = await client.modelVersions(arg(ctx, 0, 'model name'), { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, { name, versions }), EXIT.OK);
    ctx.out(
      `${formatTable(
        ['version', 'run', 'checkpoint', 'created'],
        versions.map((v) => [`v${v.version}`, v.runId, v.checkpointId, v.createdAt]),
      )}\n`,
    );
    return EXIT.OK;
  },
};

export const datasetsCommand: Command = {
  name: 'datasets',
  usage: '[show <id> | register <name> --path <dir> | register <name> --prefix <prefix>]',
  summary: 'Registered image folders (one subfolder per class) with their class counts; register one.',
  details:
    'A folder must already be where the workers read it: an absolute path they share (--path) or a prefix of the object store (--prefix).\nThe API has no upload route, so the CLI does not upload local folders; copy them to the store with its own tools.',
  options: { path: { type: 'string' }, prefix: { type: 'string' } },
  optionHelp: {
    path: 'absolute path the API and workers share',
    prefix: 'object-store prefix, e.g. datasets/flowers/',
  },
  async run(ctx) {
    const client = ctx.client();
    if (sub(ctx) === 'register') {
      const name = arg(ctx, 1, 'dataset name');
      const path = str(ctx, 'path');
      const prefix = str(ctx, 'prefix');
      if ((path === undefined) === (prefix === undefined)) throw usageError('Give exactly one of --path and --prefix');
      const view = await client.registerDataset(
        name,
        path !== undefined ? { kind: 'local', path } : { kind: 's3', prefix: prefix! },
        { signal: ctx.signal },
      );
      if (ctx.json) printJson(ctx, view);
      else
        ctx.out(
          `registered ${view.name} (${view.id}): ${view.images} images in ${view.classNames.length} classes at ${view.uri}\n`,
        );
      return EXIT.OK;
    }
    if (sub(ctx) === 'show') {
      const view = await client.dataset(arg(ctx, 1, 'dataset id'), { signal: ctx.signal });
      if (ctx.json) return (printJson(ctx, view), EXIT.OK);
      ctx.out(
        `${view.name} (${view.id}) at ${view.uri}\n${formatTable(
          ['class', 'images'],
          view.classNames.map((c, i) => [c, String(view.counts[i])]),
        )}\n`,
      );
      return EXIT.OK;
    }
    if (sub(ctx) !== undefined) throw usageError(`Unknown datasets subcommand "${sub(ctx)}"`);
    const { items } = await client.datasets({ signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, items), EXIT.OK);
    ctx.out(
      `${formatTable(
        ['id', 'name', 'classes', 'images', 'uri'],
        items.map((d) => [d.id, d.name, String(d.classNames.length), String(d.images), d.uri]),
      )}\n`,
    );
    return EXIT.OK;
  },
};

export const pipelinesCommand: Command = {
  name: 'pipelines',
  usage: 'show <id> | cancel <id>',
  summary: 'A pipeline and its runs in step order, or cancel it (and its runs). Submit one with `trainyard submit`.',
  async run(ctx) {
    const action = sub(ctx);
    if (action !== 'show' && action !== 'cancel') throw usageError('pipelines needs show <id> or cancel <id>');
    const client = ctx.client();
    const id = arg(ctx, 1, 'pipeline id');
    const view =
      action === 'show'
        ? await client.pipeline(id, { signal: ctx.signal })
        : await client.cancelPipeline(id, { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, view), EXIT.OK);
    ctx.out(
      `pipeline ${view.name} (${view.id}) ${view.status}${view.failureReason ? `: ${view.failureReason}` : ''}\n`,
    );
    ctx.out(
      `${formatTable(
        ['run', 'kind', 'status', 'name'],
        view.runs.map((r) => [r.id, r.kind.toLowerCase(), r.held ? `${r.status} (held)` : r.status, r.name]),
      )}\n`,
    );
    return EXIT.OK;
  },
};

export const sweepsCommand: Command = {
  name: 'sweeps',
  usage: 'show <id>',
  summary: "A sweep's run counts and its leaderboard, best first. Submit one with `trainyard submit`.",
  async run(ctx) {
    const id = sub(ctx) === 'show' ? arg(ctx, 1, 'sweep id') : arg(ctx, 0, 'sweep id');
    const sweep = await ctx.client().sweep(id, { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, sweep), EXIT.OK);
    const counts = Object.entries(sweep.counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    ctx.out(`sweep ${sweep.name} (${sweep.id}): ${sweep.metric} (${sweep.goal}), ${counts}\n`);
    const rows = sweep.leaderboard.map((e) => [
      e.rank === null ? '-' : String(e.rank),
      e.value === null ? '-' : e.value.toFixed(4),
      e.status,
      e.runId,
      Object.entries(e.params)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' '),
    ]);
    ctx.out(`${formatTable(['rank', sweep.metric, 'status', 'run', 'params'], rows)}\n`);
    return EXIT.OK;
  },
};

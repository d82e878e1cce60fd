import { resolve } from 'node:path';
import { formatBytes } from '@trainyard/client';
import type { DatasetSummary } from '@trainyard/contracts';
import { formatTable, formatTimestamp } from '../progress-line';
import { terminalSafe } from '../terminal-safe';
import { arg, expectArgs, printJson, projectFlag, str, type Command, type CommandContext } from './command';
import { uploadFolder } from './dataset-upload';
import { EXIT, usageError } from './exit-codes';
import { ALL_HELP, PAGE_HELP, PAGE_OPTIONS, pageQuery, printAllPages, printPage } from './list-page';
import { showModel } from './model-show';
import { removeDataset, removeModelVersion } from './registry-removal';
import { resolveRunId, wholeIdArg } from './run-id-arg';

const sub = (ctx: CommandContext) => ctx.args[0];

/** A usage error when more positional arguments came than the words of `shape` (a subcommand's, e.g. `show <id>`). */
const argsAtMost = (ctx: CommandContext, name: string, shape: string) =>
  expectArgs({ name }, ctx.args, shape.split(' ').length, shape);

const countsText = (counts: Partial<Record<string, number>>) =>
  Object.entries(counts)
    .map(([status, n]) => `${n} ${status.toLowerCase()}`)
    .join(', ');

export const modelsCommand: Command = {
  name: 'models',
  usage:
    '[show <name> [--project <p>] | <name> [--project <p>] | register <name> <run> | rm <name> <version> [--project <p>]]',
  summary:
    "Registered models (a page, by name), a model's versions (which run and checkpoint made each), register a run's checkpoint (its best, else its latest) as a new version, or delete a version.",
  details:
    'show lists the versions oldest first: the run, the checkpoint (its sequence, what `download --checkpoint` takes, and its id) and when each was registered. `models <name>` is short for `models show <name>`, except for a model named show, register or rm: the subcommand always wins, and `models show <name>` reaches any model.\n' +
    'rm removes the version from the registry only: its checkpoint stays with its run (which `trainyard rm` may then delete), and the name goes with its last version. Refused (exit 2, the runs named) while runs not finished fine-tune from it.',
  options: { ...PAGE_OPTIONS, project: { type: 'string' } },
  optionHelp: {
    ...PAGE_HELP,
    project:
      "with show, <name> or rm, an operator's key names the model's project (model names are per project; `default` if left out); a project's key has only its own",
  },
  async run(ctx) {
    const client = ctx.client();
    const project = projectFlag(ctx);
    if (project !== undefined && (sub(ctx) === undefined || sub(ctx) === 'register'))
      throw usageError(
        `--project goes with \`models show\`, \`models <name>\` and \`models rm\`: the list shows every model the key may read, and a version is registered in its run's project`,
        '--project',
      );
    if (sub(ctx) === undefined) {
      const page = await client.listModels(pageQuery(ctx), { signal: ctx.signal });
      return printPage(ctx, page, ['name', 'project', 'latest', 'versions', 'latest run', 'registered (UTC)'], (m) => [
        m.name,
        m.project,
        `v${m.latestVersion}`,
        String(m.versionCount),
        m.versions[0]?.runId ?? '-',
        formatTimestamp(m.updatedAt),
      ]);
    }
    if (sub(ctx) === 'register') {
      argsAtMost(ctx, 'models', 'register <name> <run>');
      const name = arg(ctx, 1, 'model name');
      const version = await client.registerModel(name, await resolveRunId(ctx, arg(ctx, 2, 'run id')), {
        signal: ctx.signal,
      });
      if (ctx.json) printJson(ctx, version);
      else
        ctx.out(
          `${version.name} v${version.version}: run ${version.runId}, checkpoint #${version.checkpointSequence} (${version.models.join(', ')})\n`,
        );
      return EXIT.OK;
    }
    if (sub(ctx) === 'rm') {
      argsAtMost(ctx, 'models', 'rm <name> <version>');
      return removeModelVersion(ctx, arg(ctx, 1, 'model name'), arg(ctx, 2, 'version'), project);
    }
    if (sub(ctx) === 'show') {
      argsAtMost(ctx, 'models', 'show <name>');
      return showModel(ctx, arg(ctx, 1, 'model name'), project);
    }
    argsAtMost(ctx, 'models', '<name>');
    return showModel(ctx, arg(ctx, 0, 'model name'), project);
  },
};

export const datasetsCommand: Command = {
  name: 'datasets',
  usage:
    '[show <id> | upload <name> <dir> | register <name> --path <dir> | register <name> --prefix <prefix> | rm <id>]',
  summary:
    'Registered image folders (a page, newest first) with their class and image counts; upload a local folder, register one the workers can already read, or delete one.',
  details:
    'upload streams a local folder to the API as a tar; the API stores its images in the object store (datasets/uploads/<upload-uuid>/) and registers them. Links and files that are no images are left out; so are files named as images whose bytes are none (PNG, JPEG and WebP are checked by signature), each printed with the reason.\nregister names a folder that is already where the workers read it: a path they share (--path; a relative one is resolved against the current directory, as the API takes absolute paths only) or a prefix of the object store (--prefix).\nrm deletes the registration, and the images an upload stored; a registered folder (--path, --prefix) is left as it is. Refused (exit 2, the runs named) while runs not finished train on it; finished runs keep their history.',
  options: { path: { type: 'string' }, prefix: { type: 'string' }, ...PAGE_OPTIONS, all: { type: 'boolean' } },
  optionHelp: {
    path: 'path the API and workers share (relative: from the current directory)',
    prefix: 'object-store prefix, e.g. datasets/flowers/',
    ...PAGE_HELP,
    limit: `${PAGE_HELP.limit}; with --all, the page size`,
    all: `every dataset: ${ALL_HELP}`,
  },
  async run(ctx) {
    const client = ctx.client();
    const paging = (['limit', 'cursor', 'all'] as const).find((flag) => ctx.values[flag] !== undefined);
    if (sub(ctx) !== undefined && paging !== undefined)
      throw usageError(
        `--${paging} goes with the list (\`datasets\` alone), not \`datasets ${sub(ctx)}\``,
        `--${paging}`,
      );
    if (sub(ctx) === 'register') {
      argsAtMost(ctx, 'datasets', 'register <name>');
      const name = arg(ctx, 1, 'dataset name');
      const given = str(ctx, 'path');
      // A relative --path means the folder here, as it does to every other command: the API takes
      // absolute paths only (a relative one would be relative to no directory the user knows).
      const path = given === undefined ? undefined : resolve(given);
      const prefix = str(ctx, 'prefix');
      if ((path === undefined) === (prefix === undefined))
        throw usageError('Give exactly one of --path and --prefix', '--path');
      const view = await client.registerDataset(
        name,
        path !== undefined ? { kind: 'local', path } : { kind: 's3', prefix: prefix! },
        { signal: ctx.signal },
      );
      if (ctx.json) printJson(ctx, view);
      else
        ctx.out(
          `registered ${view.name} (${view.id}): ${view.images} images in ${view.classNames.length} classes at ${view.uri}${given !== undefined && given !== path ? ` (--path ${given} is ${path})` : ''}\n`,
        );
      return EXIT.OK;
    }
    if (sub(ctx) === 'upload') argsAtMost(ctx, 'datasets', 'upload <name> <dir>');
    if (sub(ctx) === 'upload') return uploadFolder(ctx, arg(ctx, 1, 'dataset name'), arg(ctx, 2, 'folder'));
    if (sub(ctx) === 'rm') {
      argsAtMost(ctx, 'datasets', 'rm <id>');
      return removeDataset(ctx, wholeIdArg(ctx, 1, 'dataset', 'datasets'));
    }
    if (sub(ctx) === 'show') {
      argsAtMost(ctx, 'datasets', 'show <id>');
      const view = await client.dataset(wholeIdArg(ctx, 1, 'dataset', 'datasets'), { signal: ctx.signal });
      if (ctx.json) return (printJson(ctx, view), EXIT.OK);
      ctx.out(
        `${terminalSafe(`${view.name} (${view.id}) at ${view.uri}`)}\n${formatTable(
          ['class', 'images'],
          view.classNames.map((c, i) => [c, String(view.counts[i])]),
        )}\n`,
      );
      return EXIT.OK;
    }
    if (sub(ctx) !== undefined) throw usageError(`Unknown datasets subcommand "${sub(ctx)}"`);
    const query = pageQuery(ctx);
    // `uploaded`: what an upload's images hold against the project's QUOTA_PROJECT_UPLOAD_BYTES ('-' for a registered folder).
    const header = ['id', 'name', 'classes', 'images', 'uploaded', 'uri'];
    const row = (d: DatasetSummary) => [
      d.id,
      d.name,
      String(d.classCount),
      String(d.images),
      d.uploadedBytes == null ? '-' : formatBytes(d.uploadedBytes),
      d.uri,
    ];
    if (ctx.values['all']) {
      const fetchPage = (cursor: string | undefined) =>
        client.listDatasets({ ...query, cursor }, { signal: ctx.signal });
      return printAllPages(ctx, fetchPage, query.cursor, header, row);
    }
    return printPage(ctx, await client.listDatasets(query, { signal: ctx.signal }), header, row);
  },
};

export const pipelinesCommand: Command = {
  name: 'pipelines',
  usage: '[show <id> | cancel <id>]',
  summary:
    'Pipelines (a page, newest first), a pipeline and its runs in step order, or cancel it (and its runs). Submit one with `trainyard submit`.',
  options: PAGE_OPTIONS,
  optionHelp: PAGE_HELP,
  async run(ctx) {
    const action = sub(ctx);
    const client = ctx.client();
    if (action === undefined) {
      const page = await client.listPipelines(pageQuery(ctx), { signal: ctx.signal });
      return printPage(ctx, page, ['id', 'name', 'status', 'steps', 'runs', 'created (UTC)'], (p) => [
        p.id,
        p.name,
        p.status,
        String(p.steps),
        countsText(p.counts),
        formatTimestamp(p.createdAt),
      ]);
    }
    if (action !== 'show' && action !== 'cancel') throw usageError('pipelines takes show <id>, cancel <id> or nothing');
    argsAtMost(ctx, 'pipelines', `${action} <id>`);
    const id = wholeIdArg(ctx, 1, 'pipeline', 'pipelines');
    const view =
      action === 'show'
        ? await client.pipeline(id, { signal: ctx.signal })
        : await client.cancelPipeline(id, { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, view), EXIT.OK);
    ctx.out(
      `${terminalSafe(`pipeline ${view.name} (${view.id}) ${view.status}${view.failureReason ? `: ${view.failureReason}` : ''}`)}\n`,
    );
    ctx.out(
      `${formatTable(
        ['run', 'kind', 'status', 'name'],
        view.runs.map((r) => [
          r.id,
          r.kind.toLowerCase(),
          r.held && r.status === 'QUEUED' ? `${r.status} (held)` : r.status,
          r.name,
        ]),
      )}\n`,
    );
    return EXIT.OK;
  },
};

export const sweepsCommand: Command = {
  name: 'sweeps',
  usage: '[show <id> | <id> | cancel <id>]',
  summary:
    "Sweeps (a page, newest first), or a sweep's run counts and its leaderboard, best first; or cancel its runs. Submit one with `trainyard submit`.",
  details:
    'cancel: runs still waiting are cancelled at once, running ones stop between two batches; runs that ended keep their results.',
  options: PAGE_OPTIONS,
  optionHelp: PAGE_HELP,
  async run(ctx) {
    if (sub(ctx) === undefined) {
      const page = await ctx.client().listSweeps(pageQuery(ctx), { signal: ctx.signal });
      return printPage(ctx, page, ['id', 'name', 'strategy', 'metric', 'parameters', 'runs'], (w) => [
        w.id,
        w.name,
        w.strategy,
        `${w.metric} (${w.goal})`,
        w.parameters.join(' '),
        `${w.runs}: ${countsText(w.counts)}`,
      ]);
    }
    const action = sub(ctx);
    const named = action === 'show' || action === 'cancel';
    argsAtMost(ctx, 'sweeps', named ? `${action} <id>` : '<id>');
    const id = wholeIdArg(ctx, named ? 1 : 0, 'sweep', 'sweeps');
    const sweep =
      action === 'cancel'
        ? await ctx.client().cancelSweep(id, { signal: ctx.signal })
        : await ctx.client().sweep(id, { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, sweep), EXIT.OK);
    const counts = Object.entries(sweep.counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    ctx.out(`${terminalSafe(`sweep ${sweep.name} (${sweep.id}): ${sweep.metric} (${sweep.goal}), ${counts}`)}\n`);
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

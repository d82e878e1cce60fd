import { TrainyardApiError } from '@trainyard/client';
import { RunTagSchema } from '@trainyard/contracts';
import { terminalSafe } from '../terminal-safe';
import { arg, printJson, readArgFile, str, type Command } from './command';
import { CliError, EXIT, usageError } from './exit-codes';
import { runIdArg } from './run-id-arg';

export const tagCommand: Command = {
  name: 'tag',
  usage: '<run> <tag>… [--remove]',
  summary: 'Add tags to a run (or remove them); find tagged runs with `trainyard ls --tag`.',
  options: { remove: { type: 'boolean' } },
  optionHelp: { remove: 'remove the tags instead' },
  async run(ctx) {
    const id = await runIdArg(ctx, 0);
    const given = ctx.args.slice(1);
    if (!given.length) throw usageError('tag needs at least one tag');
    // Each tag checked by the API's own rule, so a refusal names the tag typed (not `tags.2`) before anything is sent.
    checkTags(given, 'tag');
    // Added or removed by the API under the run's lock, so that tags given at once by several
    // people or scripts all land (reading the list and writing it back lost some).
    const change = ctx.values['remove'] ? { removeTags: given } : { addTags: [...new Set(given)] };
    const run = await ctx.client().updateRun(id, change, { signal: ctx.signal });
    if (ctx.json) printJson(ctx, { id: run.id, tags: run.tags });
    else ctx.out(`run ${run.id} tags: ${run.tags.join(', ') || '(none)'}\n`);
    return EXIT.OK;
  },
};

/** A usage error naming the first of `tags` that is no valid run tag (`field`: where it was given, `tag` or `--tag`), and why. */
export function checkTags(tags: string[], field: string): void {
  for (const tag of tags) {
    const problem = RunTagSchema.safeParse(tag).error?.issues[0]?.message;
    if (problem) throw usageError(`"${tag}" is not a valid tag: ${problem}`, field);
  }
}

export const renameCommand: Command = {
  name: 'rename',
  usage: '<run> <name>',
  maxArgs: 2,
  summary: 'Give a run a new name.',
  async run(ctx) {
    const run = await ctx
      .client()
      .updateRun(await runIdArg(ctx, 0), { name: arg(ctx, 1, 'new name') }, { signal: ctx.signal });
    if (ctx.json) printJson(ctx, { id: run.id, name: run.name });
    else ctx.out(`run ${run.id} is now "${run.name}"\n`);
    return EXIT.OK;
  },
};

export const noteCommand: Command = {
  name: 'note',
  usage: '<run> [<markdown> | --file <notes.md> | --clear]',
  maxArgs: 2,
  summary: "Set a run's Markdown notes (the dashboard shows them); without text, print them.",
  options: { file: { type: 'string' }, clear: { type: 'boolean' } },
  optionHelp: { file: 'read the notes from a file', clear: 'remove the notes' },
  async run(ctx) {
    const id = await runIdArg(ctx, 0);
    const file = str(ctx, 'file');
    const given = [ctx.args[1] !== undefined, file !== undefined, ctx.values['clear'] === true].filter(Boolean).length;
    if (given > 1) throw usageError('Give the notes one way: as text, --file or --clear');
    const text = ctx.values['clear'] ? null : file ? readArgFile(file) : ctx.args[1];
    const client = ctx.client();
    const run =
      text === undefined
        ? await client.run(id, { signal: ctx.signal })
        : await client.updateRun(id, { notes: text }, { signal: ctx.signal });
    if (ctx.json) printJson(ctx, { id: run.id, notes: run.notes });
    else
      ctx.out(
        run.notes
          ? `${run.notes.replace(/\n?$/, '\n')}`
          : text === undefined
            ? '(no notes)\n'
            : `run ${run.id}: notes cleared\n`,
      );
    return EXIT.OK;
  },
};

export const archiveCommand: Command = {
  name: 'archive',
  usage: '<run> [--undo]',
  maxArgs: 1,
  summary: 'Archive a run: `ls` leaves it out unless asked (--archived true|any); nothing else changes.',
  options: { undo: { type: 'boolean' } },
  optionHelp: { undo: 'bring the run back into lists' },
  async run(ctx) {
    const run = await ctx.client().archive(await runIdArg(ctx, 0), !ctx.values['undo'], { signal: ctx.signal });
    if (ctx.json) printJson(ctx, run);
    else ctx.out(`run ${run.id} ${run.archivedAt ? `archived at ${run.archivedAt}` : 'back in lists'}\n`);
    return EXIT.OK;
  },
};

export const rmCommand: Command = {
  name: 'rm',
  usage: '<run> [--dry-run]',
  maxArgs: 1,
  summary: 'Delete a finished run with its metrics, checkpoints and stored objects.',
  details:
    'Refused (exit 2, each blocker named) for a queued or running run, one whose checkpoint is a registered model version, the base of another run, or a step of a running pipeline.',
  options: { 'dry-run': { type: 'boolean' } },
  optionHelp: { 'dry-run': 'only list what would be deleted' },
  async run(ctx) {
    const id = await runIdArg(ctx, 0);
    let deletion;
    try {
      deletion = await ctx.client().deleteRun(id, { dryRun: ctx.values['dry-run'] === true }, { signal: ctx.signal });
    } catch (error) {
      const blockers = error instanceof TrainyardApiError && error.status === 409 ? error.blockers : [];
      if (!blockers.length || ctx.json) throw error;
      throw new CliError(
        `run ${id} cannot be deleted:\n${blockers.map((b) => `  - ${terminalSafe(String(b.message))}`).join('\n')}`,
        EXIT.API,
      );
    }
    if (ctx.json) return (printJson(ctx, deletion), EXIT.OK);
    const verb = deletion.dryRun ? 'would delete' : 'deleted';
    ctx.out(
      `${verb} run ${id}: ${count(deletion.attempts, 'attempt')}, ${count(deletion.metricPoints, 'metric point')}, ${count(deletion.checkpoints.count, 'checkpoint')}, ` +
        `${count(deletion.objects.count, 'object')} (${(deletion.objects.bytes / 1024).toFixed(0)} KiB) under ${deletion.objects.prefix}\n`,
    );
    const leaves = deletion.dryRun ? 'would leave' : 'left';
    if (deletion.sweep)
      ctx.out(`it ${leaves} sweep ${deletion.sweep.id} ("${terminalSafe(deletion.sweep.name)}") and its leaderboard\n`);
    if (deletion.pipeline)
      ctx.out(
        `it ${leaves} pipeline ${deletion.pipeline.id} ("${terminalSafe(deletion.pipeline.name)}") with a step without its run\n`,
      );
    return EXIT.OK;
  },
};

/** `1 attempt`, `2 attempts`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

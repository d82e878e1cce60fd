import {
  COMPARE_MAX_RUNS,
  gibText,
  isWaiting,
  type MetricPointView,
  type RunLogLine,
  type RunDetailView,
  RunSpecSchema,
  storedOnBaseRun,
  storedTrainingMemoryOnBaseRun,
  trainingMemory,
} from '@trainyard/contracts';
import { StreamEndedEarlyError } from '@trainyard/client';
import { truncateToWidth } from '../display-width';
import { formatDuration, formatTable } from '../progress-line';
import { jsonText, terminalSafe } from '../terminal-safe';
import { arg, int, PG_INT_MAX, printJson, readArgFile, str, warn, type Command, type CommandContext } from './command';
import { ReconnectBudget } from './connection-lost';
import { EXIT, usageError } from './exit-codes';
import { formatValue, summaryValue, warnAbsentMetrics } from './metric-summary-text';
import { attemptsTable, dataLines, queueText, resultLines } from './run-report';
import { parseSpecText, specFormatOf, specFormatOfText, type SpecKind } from './spec-file';
import { resolveRunId, runIdArg } from './run-id-arg';

export const submitCommand: Command = {
  name: 'submit',
  usage: '<spec.yaml|spec.json|->',
  maxArgs: 1,
  summary: 'Validate a run, pipeline or sweep spec locally (errors name file:line:column), then submit it.',
  details:
    'The kind is read from the file: `kind:` for a run, `finetunes:` for a pipeline, `parameters:` for a sweep. A .json file is read as JSON, any other as YAML; `-` reads the spec from stdin (JSON when it starts with `{`, else YAML).',
  options: { kind: { type: 'string' }, 'idempotency-key': { type: 'string' }, 'dry-run': { type: 'boolean' } },
  optionHelp: {
    kind: 'run, pipeline or sweep (else read from the file)',
    'idempotency-key':
      'repeat a submit safely: the same key creates one run, a repeat says "already submitted" (runs only: not a pipeline or a sweep)',
    'dry-run': 'validate only',
  },
  async run(ctx) {
    const file = arg(ctx, 0, 'spec file');
    const kind = str(ctx, 'kind');
    if (kind !== undefined && !['run', 'pipeline', 'sweep'].includes(kind))
      throw usageError(`--kind must be run, pipeline or sweep, got "${kind}"`, '--kind');
    // `-`: the spec on stdin, JSON or YAML as its first character says (no name to tell).
    const fromStdin = file === '-';
    const name = fromStdin ? '<stdin>' : file;
    const text = fromStdin ? await ctx.readStdin() : readArgFile(file, 'spec file');
    const loaded = parseSpecText(
      text,
      name,
      kind as SpecKind | undefined,
      fromStdin ? specFormatOfText(text) : specFormatOf(file),
    );
    // Only POST /v1/runs takes an Idempotency-Key: a key given for a pipeline or a sweep would
    // promise a safe repeat the API does not keep.
    if (str(ctx, 'idempotency-key') !== undefined && loaded.kind !== 'run')
      throw usageError(
        `--idempotency-key applies to runs only; ${name} is a ${loaded.kind} spec (the API takes no key for a ${loaded.kind})`,
        '--idempotency-key',
      );
    if (ctx.values['dry-run']) {
      ctx.out(
        ctx.json ? `${JSON.stringify({ valid: true, kind: loaded.kind })}\n` : `${name}: a valid ${loaded.kind} spec\n`,
      );
      return EXIT.OK;
    }
    const client = ctx.client();
    if (loaded.kind === 'run') {
      const idempotencyKey = str(ctx, 'idempotency-key');
      const answer = await client.submitWithReplay(loaded.spec, { idempotencyKey, signal: ctx.signal });
      const { run } = answer;
      // The API answers a repeat of a keyed submit as it answered the first: only its header tells.
      // Without --idempotency-key a replay is the client's own retry of this submit, whose first
      // answer was lost: this command made the run.
      const replayed = answer.replayed && idempotencyKey !== undefined;
      if (ctx.json) printJson(ctx, { kind: loaded.kind, ...run, replayed });
      else if (replayed) ctx.out(`run ${run.id} (already submitted with this idempotency key: nothing new was made)\n`);
      else ctx.out(`submitted run ${run.id}\n`);
      return EXIT.OK;
    }
    const created =
      loaded.kind === 'pipeline'
        ? await client.submitPipeline(loaded.spec, { signal: ctx.signal })
        : await client.submitSweep(loaded.spec, { signal: ctx.signal });
    if (ctx.json) printJson(ctx, { kind: loaded.kind, ...created });
    else if (loaded.kind === 'sweep')
      ctx.out(`submitted sweep ${created.id} (${'runs' in created ? created.runs : '?'} runs)\n`);
    else ctx.out(`submitted ${loaded.kind} ${created.id}\n`);
    return EXIT.OK;
  },
};

/**
 * What a training step of the run needs on its device, estimated from its spec's layers as the API
 * places it and its worker checks it (training-memory.ts): a fine-tune on a base run by that run's
 * stored spec too, read as the worker reads it (storedTrainingMemoryOnBaseRun: the figure the
 * worker places the job by, and no parse of the base; one more read, for such a run only; none
 * when the base cannot be read); nothing when neither decides the model.
 */
async function memoryLines(ctx: CommandContext, run: RunDetailView): Promise<string[]> {
  const parsed = RunSpecSchema.safeParse(run.spec);
  if (!parsed.success) return [];
  const memory = trainingMemory(parsed.data) ?? storedTrainingMemoryOnBaseRun(run.spec, await baseRunSpec(ctx, run));
  return memory
    ? [`memory    about ${gibText(memory.bytes)} a training step (estimated at ${memory.batchField} ${memory.batch})`]
    : [];
}

/** The stored spec of the run's base run, for a fine-tune on one only (best effort: undefined when it cannot be read). */
async function baseRunSpec(ctx: CommandContext, run: RunDetailView): Promise<unknown> {
  if (!run.baseRunId || !storedOnBaseRun(run.spec)) return undefined;
  const base = await ctx
    .client()
    .run(run.baseRunId, { signal: ctx.signal })
    .catch(() => null);
  return base?.spec;
}

export const showCommand: Command = {
  name: 'show',
  usage: '<run>',
  maxArgs: 1,
  summary: 'A run: status, progress, data, metric summaries, checkpoints, attempts and its test report.',
  async run(ctx) {
    const run = await ctx.client().run(await runIdArg(ctx, 0), { signal: ctx.signal });
    if (ctx.json) return (printJson(ctx, run), EXIT.OK);
    // A waiting run: where it stands (best effort: the rest is shown without it).
    const queue = isWaiting(run.status)
      ? await ctx
          .client()
          .runQueue(run.id, { signal: ctx.signal })
          .catch(() => null)
      : null;
    const wall = run.startedAt
      ? formatDuration(((run.endedAt ? Date.parse(run.endedAt) : Date.now()) - Date.parse(run.startedAt)) / 1000)
      : '-';
    // Each line terminal-safe as one line: a reason holding a line feed cannot start a line of its own.
    const lines = [
      `run       ${run.id}`,
      `name      ${run.name}`,
      `kind      ${run.kind.toLowerCase()}`,
      `status    ${run.status}${run.cancelRequested && run.status === 'RUNNING' ? ' (cancel requested)' : ''}${run.failureReason ? `: ${run.failureReason}` : ''}`,
      `created   ${run.createdAt}`,
      `wall time ${wall}`,
      ...(run.baseRunId ? [`base run  ${run.baseRunId}`] : []),
      ...(run.tags.length ? [`tags      ${run.tags.join(', ')}`] : []),
      ...(run.archivedAt ? [`archived  ${run.archivedAt}`] : []),
      ...(run.metricsCompactedAt
        ? [`metrics   compacted ${run.metricsCompactedAt}: of every 256 steps only first, min, max and last kept`]
        : []),
      ...(run.progress
        ? [
            `progress  ${run.progress.phase}, epoch ${run.progress.epoch}/${run.progress.epochs}, step ${run.progress.step}`,
          ]
        : []),
      ...(queue ? [`queue     ${queueText(queue)}`] : []),
      ...(await memoryLines(ctx, run)),
    ].map((line) => terminalSafe(line));
    ctx.out([...lines, ...dataLines(run.dataReport), ''].join('\n'));
    if (run.summaries.length) {
      const rows = run.summaries.map((s) => [
        s.name,
        formatValue(s.last),
        formatValue(s.best),
        String(s.bestStep),
        String(s.count),
      ]);
      ctx.out(`\n${formatTable(['metric', 'last', 'best', 'best step', 'points'], rows)}\n`);
    }
    if (run.checkpoints.length) {
      const rows = run.checkpoints.map((c) => [
        String(c.sequence),
        String(c.epoch),
        c.reason ?? '',
        c.models.join(','),
        `${(c.bytes / 1024).toFixed(0)} KiB`,
      ]);
      ctx.out(`\n${formatTable(['checkpoint', 'epoch', 'reason', 'models', 'size'], rows)}\n`);
    }
    if (run.attempts.length) ctx.out(`\n${attemptsTable(run.attempts)}\n`);
    const result = resultLines(run.result);
    if (result.length) ctx.out(`\n${result.join('\n')}\n`);
    if (run.notes) ctx.out(`\nnotes\n${terminalSafe(run.notes, { multiline: true }).replace(/\n?$/, '\n')}`);
    return EXIT.OK;
  },
};

export const cancelCommand: Command = {
  name: 'cancel',
  usage: '<run>',
  maxArgs: 1,
  summary: 'Cancel a run: at once when waiting, between batches when running; nothing when it has ended.',
  async run(ctx) {
    const run = await ctx.client().cancel(await runIdArg(ctx, 0), { signal: ctx.signal });
    if (ctx.json) printJson(ctx, run);
    else
      ctx.out(
        `run ${run.id} ${run.status}${run.cancelRequested && run.status === 'RUNNING' ? ' (cancel requested: stops at the next batch)' : ''}\n`,
      );
    return EXIT.OK;
  },
};

/**
 * `--names loss, val_loss`: each name without the spaces around it. The API trims them too, so an
 * untrimmed " val_loss" was exported and then warned of as a metric the run lacks.
 */
function namesFlag(ctx: CommandContext): string[] | undefined {
  return str(ctx, 'names')
    ?.split(',')
    .map((name) => name.trim());
}

export const compareCommand: Command = {
  name: 'compare',
  usage: '<run> <run> [<run>…]',
  summary:
    'Runs side by side: status and the last and best value of loss and accuracy, or of the metrics --names lists.',
  details: `Two to ${COMPARE_MAX_RUNS} runs. Without --names, the metrics are loss, val_loss, accuracy and val_accuracy: a pretrain's val_mse or a run's test/accuracy only when named.`,
  options: { names: { type: 'string' } },
  optionHelp: { names: 'comma-separated metrics (default loss, val_loss, accuracy, val_accuracy)' },
  async run(ctx) {
    if (ctx.args.length < 2) throw usageError('compare needs at least two run ids');
    // Said before a prefix is looked up: past it the API's 400 spoke of a query field, `ids`, after
    // one lookup per run.
    if (ctx.args.length > COMPARE_MAX_RUNS)
      throw usageError(`compare takes at most ${COMPARE_MAX_RUNS} runs, got ${ctx.args.length}`);
    const names = namesFlag(ctx);
    const ids: string[] = [];
    for (const text of ctx.args) ids.push(await resolveRunId(ctx, text));
    const comparison = await ctx.client().compare(ids, { names, maxPoints: 10 }, { signal: ctx.signal });
    // Only names typed: the default ones (accuracy…) are absent from a pretrain by design.
    warnAbsentMetrics(
      ctx,
      names ?? [],
      comparison.runs.map(({ run }) => run),
      (name) => `no run compared has a metric "${name}"`,
    );
    if (ctx.json) return (printJson(ctx, comparison), EXIT.OK);
    const header = ['run', 'name', 'status', ...comparison.names.flatMap((n) => [`${n} last`, `${n} best`])];
    const rows = comparison.runs.map(({ run }) => [
      run.id.slice(0, 8),
      truncateToWidth(run.name, 40),
      run.status,
      ...comparison.names.flatMap((n) => [
        formatValue(summaryValue(run.summaries, n, 'last')),
        formatValue(summaryValue(run.summaries, n, 'best')),
      ]),
    ]);
    ctx.out(`${formatTable(header, rows)}\n`);
    return EXIT.OK;
  },
};

export const metricsCommand: Command = {
  name: 'metrics',
  usage: '<run>',
  maxArgs: 1,
  jsonLines: true,
  summary: "Export a run's metric points as CSV or JSON Lines (to stdout).",
  options: { format: { type: 'string' }, names: { type: 'string' } },
  optionHelp: {
    format: 'csv (default) or jsonl (what --json prints)',
    names: 'comma-separated metric names (default all)',
  },
  async run(ctx) {
    const format = str(ctx, 'format') ?? (ctx.json ? 'jsonl' : 'csv');
    if (format !== 'csv' && format !== 'jsonl')
      throw usageError(`--format must be csv or jsonl, got "${format}"`, '--format');
    // --json is JSON Lines here: CSV under it would be neither what was asked nor JSON.
    if (ctx.json && format !== 'jsonl')
      throw usageError(`--json prints JSON Lines, not --format ${format}: give one or the other`, '--format');
    const id = await runIdArg(ctx, 0);
    const names = namesFlag(ctx);
    const client = ctx.client();
    const { points } = await client.metrics(id, names, {}, { signal: ctx.signal });
    // A name with no point may be a typo: the run's metric summaries (one request, only then) say what it has.
    const pointless = (names ?? []).filter((name) => !points.some((p) => p.name === name));
    if (pointless.length) {
      const run = await client.run(id, { signal: ctx.signal }).catch(() => null); // best effort: the points stand
      if (run) warnAbsentMetrics(ctx, pointless, [run], (name) => `run ${id} has no metric "${name}"`);
    }
    ctx.out(
      format === 'csv' ? metricsCsv(points) : points.map((p) => jsonText(p)).join('\n') + (points.length ? '\n' : ''),
    );
    return EXIT.OK;
  },
};

export const logsCommand: Command = {
  name: 'logs',
  usage: '<run>',
  maxArgs: 1,
  jsonLines: true,
  summary: "A run's log: the worker's lines and what its training printed, every attempt.",
  options: { follow: { type: 'boolean', short: 'f' }, attempt: { type: 'string' } },
  optionHelp: { follow: 'keep printing new lines until the run ends', attempt: "only this attempt's lines" },
  async run(ctx) {
    const id = await runIdArg(ctx, 0);
    const attempt = int(ctx, 'attempt', { min: 1, max: PG_INT_MAX, what: 'an attempt number' });
    let printed = 0;
    const print = (line: RunLogLine) => {
      printed++;
      ctx.out(
        ctx.json
          ? `${jsonText(line)}\n`
          : `${terminalSafe(`${line.t} #${line.attempt} ${line.source.padEnd(6)} ${line.msg}`)}\n`,
      );
    };
    const client = ctx.client();
    // No line of the attempt asked for may mean there is no such attempt: the run says (one request,
    // only then; best effort: the log was printed all the same).
    const warnIfNoAttempt = async () => {
      if (attempt === undefined || printed > 0) return;
      const run = await client.run(id, { signal: ctx.signal }).catch(() => null);
      const attempts = run?.attempts ?? [];
      if (!run || attempts.some((a) => a.number === attempt)) return;
      const numbers = attempts.map((a) => a.number).sort((a, b) => a - b);
      warn(
        ctx,
        `run ${id} has no attempt ${attempt} (${numbers.length ? `its attempts: ${numbers.join(', ')}` : 'it has none yet'})`,
      );
    };
    if (ctx.values['follow']) {
      // A dropped stream (the API restarted) is opened again after the last line printed: no gap, no repeat.
      const reconnects = new ReconnectBudget();
      let after: string | undefined;
      for (;;) {
        try {
          for await (const { cursor, line } of client.followLogCursors(
            id,
            { attempt, after },
            { signal: ctx.signal },
          )) {
            print(line);
            if (cursor) after = cursor;
            reconnects.progressed();
          }
          break;
        } catch (error) {
          const notice = (text: string) => ctx.err(`trainyard: ${text}`);
          // Opened again, the stream answers why it ended (a revoked key: 401) or goes on.
          if (error instanceof StreamEndedEarlyError)
            await reconnects.afterEnd('the API ended the log stream early', ctx.signal, notice, () => error);
          else await reconnects.afterDrop(error, ctx.signal, notice);
        }
      }
      await warnIfNoAttempt();
      return EXIT.OK;
    }
    let after: string | undefined;
    for (;;) {
      const page = await client.logs(id, { after, attempt, limit: 1000 }, { signal: ctx.signal });
      page.lines.forEach(print);
      if (page.complete || page.lines.length === 0) return (await warnIfNoAttempt(), EXIT.OK);
      after = page.next;
    }
  },
};

/**
 * Wide CSV-safe rows: one per point, in the API's order (name, then step). A text cell that a
 * spreadsheet would read as a formula (= + - @ tab CR first) gets a leading ' (OWASP's advice for
 * CSV injection); numbers stay numbers, -0.5 included.
 */
export function metricsCsv(points: MetricPointView[]): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? '' : typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const rows = points.map((p) => [p.name, p.step, p.epoch, p.value, p.wallTime, p.attemptId].map(cell).join(','));
  return ['name,step,epoch,value,wallTime,attemptId', ...rows].join('\n') + '\n';
}

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isTerminal,
  type ClassificationReport,
  type FinetuneResult,
  type PretrainResult,
  type RunDetailView,
} from '@trainyard/contracts';
import type { TrainyardClient } from '@trainyard/cli-app';
import { accuracyPlotSvg, renderPng } from './accuracy-plot';
import {
  finetuneSpec,
  plannedRuns,
  pretrainSpec,
  recipeOf,
  type Arm,
  type ExperimentSettings,
  type Recipe,
} from './pretraining-settings';
import {
  keepHandWritten,
  plotSeries,
  reportMarkdown,
  type FinetuneOutcome,
  type PretrainOutcome,
} from './pretraining-report';

interface Submitted<T> {
  plan: T;
  id: string;
}
type PlannedPretrain = { recipe: Recipe; seed: number };
type PlannedFinetune = { arm: Arm; labels: number; seed: number };

/**
 * Runs the whole design through the API and writes `pretraining.md` (keeping its hand-written
 * part) and `pretraining.png` into `settings.outDir`. Pretrains and the arms without one are
 * queued at once; an arm's fine-tunes are queued when the seed's pretrain of its recipe SUCCEEDS
 * (the API refuses a base that has not).
 */
export async function runExperiment(
  client: TrainyardClient,
  settings: ExperimentSettings,
  log: (line: string) => void,
): Promise<{ pretrains: PretrainOutcome[]; finetunes: FinetuneOutcome[]; reportPath: string }> {
  const started = Date.now();
  const plan = plannedRuns(settings);
  const pretrains: Submitted<PlannedPretrain>[] = [];
  for (const p of plan.pretrains)
    pretrains.push({ plan: p, id: (await client.submit(pretrainSpec(settings, p.recipe, p.seed))).id });
  const finetunes: Submitted<PlannedFinetune>[] = [];
  const waiting = plan.finetunes.filter((f) => recipeOf(f.arm) !== null);
  for (const f of plan.finetunes.filter((f) => recipeOf(f.arm) === null))
    finetunes.push({ plan: f, id: (await client.submit(finetuneSpec(settings, f.arm, f.seed, f.labels, null))).id });

  let lastLine = 0;
  const skipped = new Set<string>();
  for (;;) {
    const views = new Map<string, RunDetailView>();
    for (const { id } of [...pretrains, ...finetunes]) views.set(id, await client.run(id));
    for (const p of pretrains) {
      const view = views.get(p.id)!;
      if (!isTerminal(view.status)) continue;
      const mine = waiting.filter((f) => f.seed === p.plan.seed && recipeOf(f.arm) === p.plan.recipe);
      for (const f of mine) waiting.splice(waiting.indexOf(f), 1);
      if (view.status !== 'SUCCEEDED') {
        log(
          `${p.plan.recipe} pretrain seed ${p.plan.seed} ${view.status}: ${view.failureReason ?? ''}; its arms skipped`,
        );
        mine.forEach((f) => skipped.add(`${f.arm}/${f.labels}/${f.seed}`));
        continue;
      }
      for (const f of mine)
        finetunes.push({
          plan: f,
          id: (await client.submit(finetuneSpec(settings, f.arm, f.seed, f.labels, p.id))).id,
        });
    }
    const all = [...views.values()];
    const done = all.filter((v) => isTerminal(v.status)).length;
    if (Date.now() - lastLine > 30_000) {
      const running = all
        .filter((v) => v.status === 'RUNNING')
        .map((v) => `${v.name} ${v.progress?.step ?? 0}/${v.progress?.totalSteps ?? '?'}`);
      log(
        `${done}/${all.length} runs finished, ${waiting.length} waiting for a pretrain; running: ${running.join('; ') || 'none'}`,
      );
      lastLine = Date.now();
    }
    // Runs submitted in this pass are not among `views` yet: look once more before deciding.
    if (waiting.length === 0 && done === all.length && all.length === pretrains.length + finetunes.length) break;
    await sleep(settings.tiny ? 500 : 2000);
  }

  const outcomes = await collect(client, pretrains, finetunes);
  const wallMinutes = (Date.now() - started) / 60_000;
  const out = resolve(settings.outDir);
  mkdirSync(out, { recursive: true });
  const title = settings.tiny ? 'Synthetic shapes (--tiny smoke run)' : 'MNIST: pretrained encoders vs scratch';
  const svg = accuracyPlotSvg(
    title,
    plotSeries(settings, outcomes.finetunes),
    'test accuracy, last weights (mean ± 95 % CI)',
  );
  writeFileSync(join(out, 'pretraining.png'), await renderPng(svg));
  const environment = `${cpus().length} CPU(s) (${cpus()[0]?.model ?? '?'}), node ${process.version}, worker concurrency ${settings.workerConcurrency}`;
  const reportPath = join(out, 'pretraining.md');
  const previous = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : null;
  const report = reportMarkdown({ settings, ...outcomes, wallMinutes, environment, date: new Date().toISOString() });
  writeFileSync(reportPath, keepHandWritten(previous, report));
  if (skipped.size) log(`skipped (their pretrain failed): ${[...skipped].join(', ')}`);
  log(`wrote ${reportPath} and pretraining.png after ${wallMinutes.toFixed(1)} min`);
  return { ...outcomes, reportPath };
}

async function collect(
  client: TrainyardClient,
  pretrains: Submitted<PlannedPretrain>[],
  finetunes: Submitted<PlannedFinetune>[],
): Promise<{ pretrains: PretrainOutcome[]; finetunes: FinetuneOutcome[] }> {
  const seconds = (v: RunDetailView) =>
    v.startedAt && v.endedAt ? (Date.parse(v.endedAt) - Date.parse(v.startedAt)) / 1000 : NaN;
  const pretrainOutcomes: PretrainOutcome[] = [];
  for (const { plan, id } of pretrains) {
    const view = await client.run(id);
    const result = view.result && 'mse' in view.result ? (view.result as PretrainResult) : null;
    const stopped = result?.selection?.stoppedEarly;
    pretrainOutcomes.push({
      ...plan,
      id,
      status: view.status,
      mse: result?.mse ?? null,
      bestSequence: result?.selection?.best.sequence ?? null,
      stoppedEarly: stopped ? `epoch ${stopped.epoch}, step ${stopped.step}` : null,
      seconds: seconds(view),
      backend: view.backend ?? null,
    });
  }
  const finetuneOutcomes: FinetuneOutcome[] = [];
  for (const { plan, id } of finetunes) {
    const view = await client.run(id);
    const result = view.result && 'accuracy' in view.result ? (view.result as FinetuneResult) : null;
    // Without a selection (an older worker) the result is the last weights' report.
    const lastReport: ClassificationReport | null = result ? (result.selection?.last.test ?? result) : null;
    finetuneOutcomes.push({
      ...plan,
      id,
      status: view.status,
      failureReason: view.failureReason,
      lastAccuracy: lastReport?.accuracy ?? null,
      bestAccuracy: result?.accuracy ?? null,
      lastMacroF1: lastReport?.macroF1 ?? null,
      seconds: seconds(view),
    });
  }
  return { pretrains: pretrainOutcomes, finetunes: finetuneOutcomes };
}

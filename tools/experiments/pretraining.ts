// `npm run experiment:pretraining`: does a conv autoencoder pretrained on unlabeled MNIST digits
// help a classifier trained on few labels? Everything goes through the HTTP API, like any client:
// per seed one pretrain, then fine-tunes with 10, 100 and all labels per class from the pretrain
// and from scratch (same encoder). Writes docs/experiments/pretraining.md (keeping its hand-written
// part) and its PNG plot.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  isTerminal,
  type ClassificationReport,
  type ReconstructionReport,
  type RunDetailView,
} from '@trainyard/contracts';
import type { TrainyardClient } from '@trainyard/cli-app';
import { accuracyPlotSvg, renderPng } from './accuracy-plot';
import { openApiSession } from './api-session';
import { epochsToReach } from './experiment-stats';
import { finetuneSpec, labelKey, parseSettings, pretrainSpec, type ExperimentSettings } from './pretraining-settings';
import {
  keepHandWritten,
  plotSeries,
  reportMarkdown,
  type FinetuneOutcome,
  type PretrainOutcome,
} from './pretraining-report';

interface PlannedFinetune {
  seed: number;
  labels: number | null;
  init: 'pretrained' | 'scratch';
  id: string;
}

async function main(): Promise<void> {
  const settings = parseSettings(process.argv.slice(2));
  const started = Date.now();
  const session = await openApiSession({
    workerConcurrency: settings.workerConcurrency,
    home: '.trainyard/experiment-pretraining',
  });
  try {
    log(
      `API ${session.client.baseUrl}${session.logPath ? ` (embedded server, log ${session.logPath})` : ''}; settings ${JSON.stringify(settings)}`,
    );
    const { pretrains, finetunes } = await runAll(session.client, settings);
    const outcomes = await collect(session.client, settings, pretrains, finetunes);
    const wallMinutes = (Date.now() - started) / 60_000;
    const docs = resolve('docs/experiments');
    mkdirSync(docs, { recursive: true });
    const png = await renderPng(
      accuracyPlotSvg('MNIST: pretrained encoder vs scratch', plotSeries(settings, outcomes.finetunes)),
    );
    writeFileSync(join(docs, 'pretraining.png'), png);
    const environment = `${cpus().length} CPU(s) (${cpus()[0]?.model ?? '?'}), node ${process.version}, worker concurrency ${settings.workerConcurrency}`;
    const reportPath = join(docs, 'pretraining.md');
    const previous = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : null;
    const report = reportMarkdown({ settings, ...outcomes, wallMinutes, environment, date: new Date().toISOString() });
    writeFileSync(reportPath, keepHandWritten(previous, report));
    log(`wrote docs/experiments/pretraining.md and pretraining.png after ${wallMinutes.toFixed(1)} min`);
  } finally {
    session.close();
  }
}

/**
 * Pretrains and scratch fine-tunes are queued at once; a seed's pretrained fine-tunes are queued
 * when its pretrain SUCCEEDS (the API refuses a base that has not).
 */
async function runAll(client: TrainyardClient, s: ExperimentSettings) {
  const pretrains = new Map<number, string>();
  const finetunes: PlannedFinetune[] = [];
  for (const seed of s.seeds) pretrains.set(seed, (await client.submit(pretrainSpec(s, seed))).id);
  for (const seed of s.seeds) {
    for (const labels of s.labels)
      finetunes.push({
        seed,
        labels,
        init: 'scratch',
        id: (await client.submit(finetuneSpec(s, seed, labels, null))).id,
      });
  }
  const expanded = new Set<number>();
  let lastLine = 0;
  for (;;) {
    const submitted = finetunes.length;
    const views = new Map<string, RunDetailView>();
    for (const id of [...pretrains.values(), ...finetunes.map((f) => f.id)]) views.set(id, await client.run(id));
    for (const [seed, id] of pretrains) {
      const view = views.get(id)!;
      if (expanded.has(seed) || !isTerminal(view.status)) continue;
      expanded.add(seed);
      if (view.status !== 'SUCCEEDED') {
        log(`pretrain seed ${seed} ${view.status}: ${view.failureReason ?? ''}; its pretrained fine-tunes are skipped`);
        continue;
      }
      for (const labels of s.labels) {
        finetunes.push({
          seed,
          labels,
          init: 'pretrained',
          id: (await client.submit(finetuneSpec(s, seed, labels, id))).id,
        });
      }
    }
    const all = [...views.values()];
    const done = all.filter((v) => isTerminal(v.status)).length;
    if (Date.now() - lastLine > 30_000) {
      const running = all
        .filter((v) => v.status === 'RUNNING')
        .map((v) => `${v.name} e${v.progress?.epoch ?? 0}/${v.progress?.epochs ?? '?'}`);
      log(`${done}/${all.length} runs finished; running: ${running.join('; ') || 'none'}`);
      lastLine = Date.now();
    }
    // Runs submitted in this pass are not among `views` yet: look once more before deciding.
    if (expanded.size === pretrains.size && done === all.length && finetunes.length === submitted)
      return { pretrains, finetunes };
    await sleep(2000);
  }
}

async function collect(
  client: TrainyardClient,
  s: ExperimentSettings,
  pretrains: Map<number, string>,
  finetunes: PlannedFinetune[],
) {
  const seconds = (v: RunDetailView) =>
    v.startedAt && v.endedAt ? (Date.parse(v.endedAt) - Date.parse(v.startedAt)) / 1000 : NaN;
  const pretrainOutcomes: PretrainOutcome[] = [];
  for (const [seed, id] of pretrains) {
    const view = await client.run(id);
    const mse = view.result && 'mse' in view.result ? (view.result as ReconstructionReport).mse : null;
    pretrainOutcomes.push({
      seed,
      id,
      status: view.status,
      mse,
      seconds: seconds(view),
      backend: view.backend ?? null,
    });
  }
  const finetuneOutcomes: FinetuneOutcome[] = [];
  for (const f of finetunes) {
    const view = await client.run(f.id);
    const report = view.result && 'accuracy' in view.result ? (view.result as ClassificationReport) : null;
    const { points } = await client.metrics(f.id, 'val_accuracy');
    finetuneOutcomes.push({
      ...f,
      labelKey: labelKey(f.labels),
      status: view.status,
      failureReason: view.failureReason,
      accuracy: report?.accuracy ?? null,
      macroF1: report?.macroF1 ?? null,
      epochsToThreshold: epochsToReach(points, s.threshold),
      valAccuracy: points.sort((a, b) => a.epoch - b.epoch).map((p) => p.value ?? NaN),
      seconds: seconds(view),
    });
  }
  return { pretrains: pretrainOutcomes, finetunes: finetuneOutcomes };
}

function log(line: string): void {
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`\nexperiment failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

// What the head sees of a pretrained base: test accuracy of few-label fine-tunes per cut ('conv',
// 'latent') and head normalisation ('batchNorm', 'none'), from two pretrained encoders (the seed's
// recipe: MSE and a ReLU latent; and binary cross-entropy with a linear latent) and from scratch.
//   node tools/build.mjs libs tools/bench && node dist/tools/bench/transfer.js -- [--seeds 1,2,3] [--labels 10]
//     [--pretrain-steps 1800] [--steps 300] [--test-per-class 200] [--cuts conv,latent] [--norms batchNorm,none]
//     [--head-units 0] [--cache DIR]
// --cache keeps the pretrained encoders in DIR, so runs that vary only the fine-tunes pretrain once.
// In-process (no API, no database): the numbers of docs/training.md. Each fine-tune has the same
// step budget and tests its best checkpoint by val_loss.
import { FinetuneSpecSchema, PretrainSpecSchema, type FinetuneResult } from '@trainyard/contracts';
import { loadDataset } from '@trainyard/datasets';
import { initEngine } from '@trainyard/engine';
import {
  cutModel,
  encoderCutLayer,
  loadModelFromArtifacts,
  runFinetune,
  runPretrain,
  type TrainingHooks,
} from '@trainyard/training';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { filesToModelArtifacts } from '@trainyard/storage';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const seeds = flag('seeds', '1,2,3').split(',').map(Number);
const labels = Number(flag('labels', '10'));
const pretrainSteps = Number(flag('pretrain-steps', '1800'));
const steps = Number(flag('steps', '300'));
const testPerClass = Number(flag('test-per-class', '200'));
const cache = flag('cache', '');
const norms = flag('norms', 'batchNorm,none').split(',') as ('batchNorm' | 'none')[];
const cuts = flag('cuts', 'conv,latent').split(',') as ('conv' | 'latent')[];
const headUnits = Number(flag('head-units', '0'));
const encoder = { inputShape: [28, 28, 1] as [number, number, 1], filters: [16, 32], latentDim: 64 };

/** Hooks that keep checkpoints in memory (the best one is read back to be tested). */
function memoryHooks(): TrainingHooks & { last(): Record<string, Buffer> } {
  const stored: Record<string, Buffer>[] = [];
  return {
    onProgress: () => undefined,
    onMetrics: () => undefined,
    onCheckpoint: async (c) => stored.push(c.files),
    readCheckpoint: async (sequence) => stored[sequence - 1]!,
    shouldStop: () => false,
    last: () => stored.at(-1)!,
  };
}

async function cached(model: {
  loss: 'mse' | 'binaryCrossentropy';
  latentActivation: 'relu' | 'linear';
}): Promise<Record<string, Buffer>> {
  if (!cache) return pretrain(model);
  const dir = join(cache, `${model.loss}-${model.latentActivation}-${pretrainSteps}`);
  try {
    const names = await readdir(dir, { recursive: true, withFileTypes: true });
    const files = names.filter((f) => f.isFile()).map((f) => join(f.parentPath, f.name));
    if (files.length > 0)
      return Object.fromEntries(
        await Promise.all(files.map(async (f) => [f.slice(dir.length + 1), await readFile(f)] as const)),
      );
  } catch {
    // Not cached yet.
  }
  const files = await pretrain(model);
  for (const [path, body] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), body);
  }
  return files;
}

async function pretrain(model: { loss: 'mse' | 'binaryCrossentropy'; latentActivation: 'relu' | 'linear' }) {
  const spec = PretrainSpecSchema.parse({
    kind: 'pretrain',
    name: 'bench',
    dataset: { name: 'mnist', testPerClass },
    model: { type: 'conv-autoencoder', ...encoder, ...model },
    training: { steps: pretrainSteps, batchSize: 32, learningRate: 1e-3, validationSplit: 0.05, seed: 7 },
    checkpoint: { everyEpochs: 100 },
  });
  const hooks = memoryHooks();
  const started = Date.now();
  const outcome = await runPretrain(loadDataset(spec.dataset, { seed: 7, labeled: false }), spec, hooks);
  if (outcome.status !== 'completed') throw new Error(outcome.status);
  console.log(
    `pretrain ${model.loss}/${model.latentActivation}: test MSE ${outcome.result.mse.toFixed(4)} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  return hooks.last();
}

async function finetune(
  base: Record<string, Buffer> | null,
  cutAt: 'conv' | 'latent',
  headNorm: 'batchNorm' | 'none',
  seed: number,
) {
  const spec = FinetuneSpecSchema.parse({
    kind: 'finetune',
    name: 'bench',
    dataset: { name: 'mnist', testPerClass, labelsPerClass: labels },
    model: { type: 'classifier', ...encoder, cutAt, headNorm, headUnits },
    training: {
      steps,
      batchSize: 32,
      learningRate: 1e-3,
      validationSplit: 0.1,
      seed,
      earlyStopping: { metric: 'val_loss', patience: 10_000 },
    },
    checkpoint: { everyEpochs: 1000 },
  });
  let cut = null;
  if (base) {
    const loaded = await loadModelFromArtifacts({
      ...filesToModelArtifacts('encoder', base),
      trainingConfig: undefined,
    });
    cut = cutModel(loaded, encoderCutLayer(loaded, cutAt));
  }
  const outcome = await runFinetune(loadDataset(spec.dataset, { seed, labeled: true }), spec, cut, memoryHooks());
  if (outcome.status !== 'completed') throw new Error(outcome.status);
  return outcome.result as FinetuneResult;
}

async function main(): Promise<void> {
  const engine = await initEngine();
  console.log(
    `backend ${engine.backend}; ${labels} labels/class, ${steps} fine-tune steps, head units ${headUnits}, seeds ${seeds.join(',')}, test on ${testPerClass * 10} digits`,
  );
  const bases: [string, Record<string, Buffer> | null][] = [
    ['scratch', null],
    ['mse/relu', await cached({ loss: 'mse', latentActivation: 'relu' })],
    ['bce/linear', await cached({ loss: 'binaryCrossentropy', latentActivation: 'linear' })],
  ];
  console.log('| base | cut | head norm | test accuracy per seed (best / last) | mean best |\n|---|---|---|---|---|');
  for (const [name, base] of bases) {
    for (const cutAt of cuts) {
      for (const headNorm of norms) {
        const results = [];
        for (const seed of seeds) results.push(await finetune(base, cutAt, headNorm, seed));
        const cells = results
          .map((r) => `${r.accuracy.toFixed(3)} / ${r.selection!.last.test.accuracy.toFixed(3)}`)
          .join(', ');
        const mean = results.reduce((a, r) => a + r.accuracy, 0) / results.length;
        console.log(`| ${name} | ${cutAt} | ${headNorm} | ${cells} | ${mean.toFixed(3)} |`);
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

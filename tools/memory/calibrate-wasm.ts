// `node tools/build.mjs libs tools/memory && node dist/tools/memory/calibrate-wasm.js [--only NAME] [--trust-bracket] [--exact]`: for a few architectures, the largest batch
// whose first training step runs on the wasm backend and the smallest that traps past its 4 GiB,
// found by bisection (to within 1/64 of the batch, or to one image with --exact), one real training process (libs/training) per try, one step each; printed
// beside the contracts' training-memory estimate of each (docs/training.md, "Training memory").
// A script, not a test: one bisection takes minutes on one core.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  gibText,
  GIB,
  largestBatchWithin,
  type RunSpec,
  RunSpecSchema,
  trainingMemory,
  WASM_MEMORY_GIB,
} from '@trainyard/contracts';
import { startTrainingProcess } from '@trainyard/training/supervisor';
import { OWN_LAYERS_AUTOENCODER } from '@trainyard/training/testing';

/**
 * A spec to calibrate on, given its batch, and the bracket the bisection starts from: a batch that
 * trains and one that traps (each tried first unless --trust-bracket; `traps` past 1024 means
 * "try 1024 first"). The brackets here are the last measurement's results (docs/training.md).
 */
interface Architecture {
  name: string;
  spec: (batch: number) => unknown;
  trains: number;
  traps: number;
}

/** Enough images for one batch of `batch` after a 5% validation split. */
const imagesFor = (batch: number) => Math.ceil(batch / 0.95) + 8;
const shapes = (imageSize: number, channels: 1 | 3, batch: number) => ({
  name: 'synthetic-shapes',
  imageSize,
  channels,
  perClass: Math.ceil(imagesFor(batch) / 4),
  testPerClass: 2,
});
const training = (batch: number) => ({ steps: 1, batchSize: batch, validationSplit: 0.05, seed: 1 });

const ARCHITECTURES: Architecture[] = [
  {
    name: '64×64×3 conv autoencoder, filters [32, 64]',
    spec: (batch) => ({
      kind: 'pretrain',
      name: 'calibration',
      dataset: shapes(64, 3, batch),
      model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
      training: training(batch),
    }),
    trains: 373,
    traps: 374,
  },
  {
    name: '28×28×1 classifier from scratch, filters [256]',
    spec: (batch) => ({
      kind: 'finetune',
      name: 'calibration',
      dataset: { name: 'mnist', limit: imagesFor(batch), testPerClass: 2 },
      model: { type: 'classifier', filters: [256] },
      training: training(batch),
    }),
    trains: 400,
    traps: 404,
  },
  {
    // The same classifier with its base frozen (freezing.mode 'base'): only the head learns.
    name: '28×28×1 classifier from scratch, filters [256], frozen base',
    spec: (batch) => ({
      kind: 'finetune',
      name: 'calibration',
      dataset: { name: 'mnist', limit: imagesFor(batch), testPerClass: 2 },
      model: { type: 'classifier', filters: [256], freezing: { mode: 'base' } },
      training: training(batch),
    }),
    trains: 702,
    traps: 712,
  },
  {
    name: '64×64×3 classifier from scratch, filters [32, 64]',
    spec: (batch) => ({
      kind: 'finetune',
      name: 'calibration',
      dataset: shapes(64, 3, batch),
      model: { type: 'classifier', filters: [32, 64] },
      training: training(batch),
    }),
    trains: 548,
    traps: 553,
  },
  {
    name: '64×64×3 classifier from scratch, filters [32, 64], frozen base',
    spec: (batch) => ({
      kind: 'finetune',
      name: 'calibration',
      dataset: shapes(64, 3, batch),
      model: { type: 'classifier', filters: [32, 64], freezing: { mode: 'base' } },
      training: training(batch),
    }),
    trains: 921,
    traps: 933,
  },
  {
    name: '64×64×3 own layers autoencoder (conv 48, pool, upsample, conv 3)',
    spec: (batch) => ({
      kind: 'pretrain',
      name: 'calibration',
      dataset: shapes(64, 3, batch),
      model: OWN_LAYERS_AUTOENCODER,
      training: training(batch),
    }),
    trains: 469,
    traps: 470,
  },
];

type Outcome = 'trains' | 'traps';

async function tryBatch(arch: Architecture, batch: number, root: string): Promise<Outcome> {
  const spec = RunSpecSchema.parse(arch.spec(batch));
  const handle = startTrainingProcess(
    { runId: randomUUID(), firstCheckpointSequence: 1, backend: 'wasm', spec, storage: { driver: 'local', root } },
    () => undefined,
    { onOutput: () => undefined, heartbeatTimeoutMs: 600_000 },
  );
  const outcome = await handle.done;
  if (outcome.status === 'succeeded') return 'trains';
  // A trap is worded by memory-failure.ts, in the pass it happened in or (failureBehindTrap) the one before it.
  if (outcome.status === 'failed' && /failed in the wasm backend/.test(outcome.reason)) return 'traps';
  throw new Error(`batch ${batch}: ${JSON.stringify(outcome)}`);
}

const estimateOf = (spec: RunSpec) => {
  const memory = trainingMemory(spec);
  if (!memory) throw new Error('no estimate for this spec');
  return memory;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      'trust-bracket': { type: 'boolean', default: false },
      exact: { type: 'boolean', default: false },
    },
  });
  const root = await mkdtemp(join(tmpdir(), 'trainyard-calibrate-'));
  const log = (line: string) => process.stdout.write(`${line}\n`);
  try {
    for (const arch of ARCHITECTURES.filter((a) => !values.only || a.name.includes(values.only))) {
      // The bracket is checked, then halved: each try is a fresh process (a trap leaves its wasm memory unusable).
      let { trains, traps } = arch;
      if (!values['trust-bracket'] && traps <= 1024) {
        const ends = [await tryBatch(arch, trains, root), await tryBatch(arch, traps, root)];
        if (ends[0] !== 'trains' || ends[1] !== 'traps')
          throw new Error(`${arch.name}: ${trains} ${ends[0]} and ${traps} ${ends[1]}: widen the bracket`);
      }
      const limit = RunSpecSchema.parse(arch.spec(1024)) as RunSpec;
      if (traps > 1024) {
        if ((await tryBatch(arch, 1024, root)) === 'trains') {
          trains = 1024;
          traps = Number.NaN;
        }
        if (!Number.isNaN(traps)) traps = 1024;
      }
      // To within 1/64 of the batch: each try is a training process's start and one step.
      while (traps - trains > (values.exact ? 1 : Math.max(1, Math.ceil(trains / 64)))) {
        const batch = Math.floor((trains + traps) / 2);
        const outcome = await tryBatch(arch, batch, root);
        log(`  ${arch.name}: batch ${batch} ${outcome}`);
        if (outcome === 'trains') trains = batch;
        else traps = batch;
      }
      const at = (batch: number) => gibText(estimateOf(RunSpecSchema.parse(arch.spec(batch)) as RunSpec).bytes);
      const allowed = largestBatchWithin(estimateOf(limit), WASM_MEMORY_GIB * GIB);
      log(
        `${arch.name}: trains at ${trains} (estimate ${at(trains)})` +
          (Number.isNaN(traps) ? ', the largest batch a spec may ask' : `, traps at ${traps} (estimate ${at(traps)})`) +
          `; the estimate allows ${allowed}`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

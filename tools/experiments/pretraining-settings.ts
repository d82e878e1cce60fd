import type { RunSpecInput } from '@trainyard/contracts';

/** Everything that decides the experiment's numbers; printed into the report as is. */
export interface ExperimentSettings {
  seeds: number[];
  testPerClass: number;
  /** Labels per class of the fine-tunes; null = all remaining (non-test) digits. */
  labels: (number | null)[];
  pretrainEpochs: number;
  /** Fine-tune epochs per label count ('all' for null): few labels need more passes to converge. */
  finetuneEpochs: Record<string, number>;
  batchSize: number;
  learningRate: number;
  /** The val_accuracy whose first crossing is reported as "epochs to reach". */
  threshold: number;
  workerConcurrency: number;
}

export const labelKey = (labels: number | null): string => (labels === null ? 'all' : String(labels));

/** The same encoder for the autoencoder and for both kinds of fine-tune: only the init differs. */
const ENCODER = { inputShape: [28, 28, 1] as [number, number, 1], filters: [16, 32], latentDim: 64 };

export function pretrainSpec(s: ExperimentSettings, seed: number): RunSpecInput {
  return {
    kind: 'pretrain',
    name: `experiment: autoencoder seed ${seed}`,
    dataset: { name: 'mnist', testPerClass: s.testPerClass },
    model: { type: 'conv-autoencoder', ...ENCODER },
    training: {
      epochs: s.pretrainEpochs,
      batchSize: s.batchSize,
      learningRate: s.learningRate,
      validationSplit: 0.05,
      seed,
    },
    checkpoint: { everyEpochs: s.pretrainEpochs },
  };
}

export function finetuneSpec(
  s: ExperimentSettings,
  seed: number,
  labels: number | null,
  baseRunId: string | null,
): RunSpecInput {
  const epochs = s.finetuneEpochs[labelKey(labels)] ?? 10;
  return {
    kind: 'finetune',
    name: `experiment: ${baseRunId ? 'pretrained' : 'scratch'} ${labelKey(labels)} labels/class seed ${seed}`,
    dataset: { name: 'mnist', testPerClass: s.testPerClass, ...(labels === null ? {} : { labelsPerClass: labels }) },
    model: { type: 'classifier', baseRunId, ...ENCODER, headUnits: 0, dropout: 0.2, freezing: { mode: 'none' } },
    training: { epochs, batchSize: s.batchSize, learningRate: s.learningRate, validationSplit: 0.1, seed },
    checkpoint: { everyEpochs: epochs },
  };
}

const USAGE = `npm run experiment:pretraining -- [--seeds 1,2,3] [--pretrain-epochs 3] [--epochs 10=40,100=20,all=3]
  [--batch 64] [--lr 0.001] [--test-per-class 200] [--threshold 0.9] [--concurrency 2]
API_URL=http://host:3000 uses a running Trainyard instead of starting the embedded server.`;

/** Reads `--name value` flags over the defaults sized for ~20 minutes on two cores. */
export function parseSettings(argv: string[]): ExperimentSettings {
  const s: ExperimentSettings = {
    seeds: [1, 2, 3],
    testPerClass: 200,
    labels: [10, 100, null],
    pretrainEpochs: 3,
    finetuneEpochs: { '10': 40, '100': 20, all: 3 },
    batchSize: 64,
    learningRate: 1e-3,
    threshold: 0.9,
    workerConcurrency: 2,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--help' || value === undefined) throw new Error(USAGE);
    const num = () => {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got "${value}"`);
      return n;
    };
    if (flag === '--seeds') s.seeds = value.split(',').map(Number);
    else if (flag === '--pretrain-epochs') s.pretrainEpochs = num();
    else if (flag === '--epochs') {
      for (const pair of value.split(',')) {
        const [key, epochs] = pair.split('=');
        if (!key || !Number(epochs)) throw new Error(`--epochs: expected labels=epochs pairs, got "${pair}"`);
        s.finetuneEpochs[key] = Number(epochs);
      }
    } else if (flag === '--batch') s.batchSize = num();
    else if (flag === '--lr') s.learningRate = num();
    else if (flag === '--test-per-class') s.testPerClass = num();
    else if (flag === '--threshold') s.threshold = num();
    else if (flag === '--concurrency') s.workerConcurrency = num();
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  if (s.seeds.some((seed) => !Number.isInteger(seed) || seed < 0))
    throw new Error('--seeds: expected non-negative integers, e.g. 1,2,3');
  return s;
}

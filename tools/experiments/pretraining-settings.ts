import type { DatasetSpec, RunSpecInput } from '@trainyard/contracts';

/**
 * The design of `npm run experiment:pretraining` (issue #14 item 5): does pretraining a conv
 * autoencoder on unlabeled digits help a classifier trained on few labels, compared fairly?
 *
 * - Labels per class 1, 10, 100 and 1,000, each with every arm, for at least 3 seeds (a seed fixes
 *   the labeled digits, the validation split, the head's initialization and the batch order, the
 *   same in every arm: the arms are compared pairwise by seed, with 95 % intervals).
 * - Arms, all with the same encoder architecture and head:
 *   - `scratch`: a fresh encoder, everything trains;
 *   - `pretrained`: the encoder of the best recipe's pretrain (the full unlabeled pool, binary
 *     cross-entropy, a linear latent; cut after the convolutions, batch-normalised head input);
 *   - `pretrained-old`: the encoder of the seed's original recipe (MSE, ReLU latent, 3 epochs on
 *     8,000 digits; cut at the latent, no normalisation), to show what the changes bought;
 *   - `random-frozen`: a fresh encoder frozen, only the head trains: the control for "any fixed
 *     features help", which a pretrained encoder has to beat to have learnt something.
 * - Budgets in optimizer steps, per label count and equal for every arm (a budget in epochs gives
 *   the few-label runs almost no steps), with the same batch size and learning rate; no early
 *   stopping in fine-tunes, so the budget is exactly the same. Each run reports its best
 *   (by val_accuracy) and its last weights' test accuracy; the headline is the last weights', as
 *   few validation digits make "best" noise (docs/training.md).
 *
 * `--tiny` shrinks every size (synthetic shapes, a few steps) into a smoke run of about a minute
 * that exercises the same design; it writes its report elsewhere than docs/.
 */

export const ARMS = ['scratch', 'pretrained', 'pretrained-old', 'random-frozen'] as const;
export type Arm = (typeof ARMS)[number];
/** The two pretrain recipes: what `pretrained` and `pretrained-old` build on. */
export const RECIPES = ['best', 'old'] as const;
export type Recipe = (typeof RECIPES)[number];
export const recipeOf = (arm: Arm): Recipe | null =>
  arm === 'pretrained' ? 'best' : arm === 'pretrained-old' ? 'old' : null;

export interface PretrainRecipe {
  /** Unlabeled digits the pretrain draws from (null: the whole training pool). */
  limit: number | null;
  loss: 'mse' | 'binaryCrossentropy';
  latentActivation: 'relu' | 'linear';
  budget: { epochs: number } | { steps: number };
  batchSize: number;
  /** Early stopping on val_mse (patience in validation rounds), or none. */
  patience: number | null;
  /** How a fine-tune meets this encoder. */
  cutAt: 'conv' | 'latent';
  headNorm: 'batchNorm' | 'none';
}

/** Everything that decides the experiment's numbers; printed into the report as is. */
export interface ExperimentSettings {
  tiny: boolean;
  seeds: number[];
  labels: number[];
  /** Fine-tune optimizer steps per label count, the same for every arm. */
  finetuneSteps: Record<string, number>;
  batchSize: number;
  learningRate: number;
  /** Test digits per class (the official test set's first N of each class). */
  testPerClass: number;
  recipes: Record<Recipe, PretrainRecipe>;
  workerConcurrency: number;
  /** Where the report and plot go. */
  outDir: string;
}

/** The encoder every arm has: conv(16) → pool → conv(32) → pool → dense(64). */
const ENCODER = { filters: [16, 32], latentDim: 64 };

function dataset(s: ExperimentSettings, extra: { labelsPerClass?: number; limit?: number | null }): DatasetSpec {
  if (s.tiny)
    return {
      name: 'synthetic-shapes',
      imageSize: 16,
      channels: 1,
      perClass: 40,
      testPerClass: s.testPerClass,
      noise: 0.05,
      ...(extra.labelsPerClass ? { labelsPerClass: extra.labelsPerClass } : {}),
    };
  return {
    name: 'mnist',
    testPerClass: s.testPerClass,
    ...(extra.labelsPerClass ? { labelsPerClass: extra.labelsPerClass } : {}),
    ...(extra.limit ? { limit: extra.limit } : {}),
  };
}
const inputShape = (s: ExperimentSettings): [number, number, 1] => (s.tiny ? [16, 16, 1] : [28, 28, 1]);

export function pretrainSpec(s: ExperimentSettings, recipe: Recipe, seed: number): RunSpecInput {
  const r = s.recipes[recipe];
  return {
    kind: 'pretrain',
    name: `experiment: ${recipe} pretrain seed ${seed}`,
    dataset: dataset(s, { limit: r.limit }),
    model: {
      type: 'conv-autoencoder',
      inputShape: inputShape(s),
      ...ENCODER,
      latentActivation: r.latentActivation,
      loss: r.loss,
    },
    training: {
      ...r.budget,
      batchSize: r.batchSize,
      learningRate: s.learningRate,
      validationSplit: 0.05,
      seed,
      ...(r.patience === null ? {} : { earlyStopping: { metric: 'val_mse', patience: r.patience } }),
    },
  };
}

/**
 * One fine-tune of the design: `baseRunId` is the seed's pretrain of the arm's recipe (null for
 * the scratch and random-frozen arms). Everything but the model is the same in every arm.
 */
export function finetuneSpec(
  s: ExperimentSettings,
  arm: Arm,
  seed: number,
  labels: number,
  baseRunId: string | null,
): RunSpecInput {
  const recipe = recipeOf(arm);
  if ((recipe === null) !== (baseRunId === null))
    throw new Error(`arm ${arm} ${recipe ? 'needs' : 'takes no'} pretrain run`);
  const transfer = recipe ? s.recipes[recipe] : s.recipes.best;
  const steps = s.finetuneSteps[String(labels)];
  if (!steps) throw new Error(`no fine-tune steps for ${labels} labels per class`);
  return {
    kind: 'finetune',
    name: `experiment: ${arm} ${labels} labels/class seed ${seed}`,
    dataset: dataset(s, { labelsPerClass: labels }),
    model: {
      type: 'classifier',
      baseRunId,
      inputShape: inputShape(s),
      ...ENCODER,
      cutAt: transfer.cutAt,
      headNorm: transfer.headNorm,
      headUnits: 0,
      dropout: 0,
      freezing: { mode: arm === 'random-frozen' ? 'base' : 'none' },
    },
    training: {
      steps,
      batchSize: s.batchSize,
      learningRate: s.learningRate,
      // One labeled digit per class leaves nothing to hold out: those runs test their last weights only.
      validationSplit: labels > 1 ? 0.1 : 0,
      seed,
    },
  };
}

/** Every run of the design: one pretrain per recipe and seed, one fine-tune per arm, label count and seed. */
export function plannedRuns(s: ExperimentSettings): {
  pretrains: { recipe: Recipe; seed: number }[];
  finetunes: { arm: Arm; labels: number; seed: number }[];
} {
  return {
    pretrains: RECIPES.flatMap((recipe) => s.seeds.map((seed) => ({ recipe, seed }))),
    finetunes: s.seeds.flatMap((seed) => s.labels.flatMap((labels) => ARMS.map((arm) => ({ arm, labels, seed })))),
  };
}

export function defaultSettings(tiny: boolean): ExperimentSettings {
  if (tiny)
    return {
      tiny: true,
      // Two seeds (20 runs) keep the smoke run under a minute on two cores; the design's ≥ 3 is for results.
      seeds: [1, 2],
      labels: [1, 10],
      finetuneSteps: { '1': 4, '10': 8 },
      batchSize: 16,
      learningRate: 1e-3,
      testPerClass: 5,
      recipes: {
        best: {
          limit: null,
          loss: 'binaryCrossentropy',
          latentActivation: 'linear',
          budget: { steps: 8 },
          batchSize: 16,
          patience: 2,
          cutAt: 'conv',
          headNorm: 'batchNorm',
        },
        old: {
          limit: null,
          loss: 'mse',
          latentActivation: 'relu',
          budget: { epochs: 1 },
          batchSize: 16,
          patience: null,
          cutAt: 'latent',
          headNorm: 'none',
        },
      },
      workerConcurrency: 2,
      outDir: '.trainyard/experiment-pretraining-tiny',
    };
  return {
    tiny: false,
    seeds: [1, 2, 3],
    labels: [1, 10, 100, 1000],
    // Equal for every arm; about 11, 18, 5 and 1 epochs of the fine-tunes' own labeled digits.
    finetuneSteps: { '1': 300, '10': 600, '100': 1500, '1000': 3000 },
    batchSize: 32,
    learningRate: 1e-3,
    testPerClass: 1000,
    recipes: {
      // The full 60,000-digit pool: ~5 epochs of its 57,000 non-validation digits at most, stopped
      // when validation MSE stops improving.
      best: {
        limit: null,
        loss: 'binaryCrossentropy',
        latentActivation: 'linear',
        budget: { steps: 9000 },
        batchSize: 32,
        patience: 3,
        cutAt: 'conv',
        headNorm: 'batchNorm',
      },
      // The seed's: 3 epochs of 8,000 digits at batch 64, MSE, ReLU latent, transferred at the latent.
      old: {
        limit: 8000,
        loss: 'mse',
        latentActivation: 'relu',
        budget: { epochs: 3 },
        batchSize: 64,
        patience: null,
        cutAt: 'latent',
        headNorm: 'none',
      },
    },
    workerConcurrency: 2,
    outDir: 'docs/experiments',
  };
}

const USAGE = `npm run experiment:pretraining -- [--tiny] [--seeds 1,2,3] [--labels 1,10,100,1000]
  [--steps 1=300,10=600,100=1500,1000=3000] [--pretrain-steps 9000] [--batch 32] [--lr 0.001]
  [--test-per-class 1000] [--concurrency 2] [--out docs/experiments]
--tiny: a smoke run of the same design at toy sizes (synthetic shapes, about a minute), written to
.trainyard/experiment-pretraining-tiny unless --out says otherwise.
API_URL=http://host:3000 uses a running Trainyard instead of starting the embedded server.`;

/** Reads `--name value` flags (and `--tiny`) over the design's defaults. */
export function parseSettings(argv: string[]): ExperimentSettings {
  const s = defaultSettings(argv.includes('--tiny'));
  const args = argv.filter((a) => a !== '--tiny');
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if (flag === '--help' || value === undefined) throw new Error(USAGE);
    const num = () => {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag}: expected a positive number, got "${value}"`);
      return n;
    };
    const ints = () => {
      const list = value.split(',').map(Number);
      if (list.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`${flag}: expected integers, e.g. 1,2,3`);
      return list;
    };
    if (flag === '--seeds') s.seeds = ints();
    else if (flag === '--labels') s.labels = ints();
    else if (flag === '--steps') {
      for (const pair of value.split(',')) {
        const [key, steps] = pair.split('=');
        if (!key || !Number.isInteger(Number(steps)) || Number(steps) < 1)
          throw new Error(`--steps: expected labels=steps pairs, got "${pair}"`);
        s.finetuneSteps[key] = Number(steps);
      }
    } else if (flag === '--pretrain-steps') s.recipes.best.budget = { steps: num() };
    else if (flag === '--batch') s.batchSize = num();
    else if (flag === '--lr') s.learningRate = num();
    else if (flag === '--test-per-class') s.testPerClass = num();
    else if (flag === '--concurrency') s.workerConcurrency = num();
    else if (flag === '--out') s.outDir = value;
    else throw new Error(`unknown flag ${flag}\n${USAGE}`);
  }
  const missing = s.labels.filter((l) => !s.finetuneSteps[String(l)]);
  if (missing.length) throw new Error(`--steps: no budget for ${missing.join(', ')} labels per class`);
  return s;
}

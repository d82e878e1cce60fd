import { randomUUID } from 'node:crypto';
import { RunSpecSchema, type FinetuneSpec, type PretrainSpec } from '@trainyard/contracts';
import { resultRows, type FinetuneOutcome } from './pretraining-report';
import {
  ARMS,
  defaultSettings,
  finetuneSpec,
  parseSettings,
  plannedRuns,
  pretrainSpec,
  recipeOf,
  type Arm,
} from './pretraining-settings';

const finetune = (s = defaultSettings(false), arm: Arm, seed: number, labels: number) =>
  RunSpecSchema.parse(finetuneSpec(s, arm, seed, labels, recipeOf(arm) ? randomUUID() : null)) as FinetuneSpec;

describe('the pretraining experiment design (issue #14 item 5)', () => {
  it('crosses 1, 10, 100 and 1,000 labels per class with four arms over at least 3 seeds', () => {
    const s = defaultSettings(false);
    expect(s.labels).toEqual([1, 10, 100, 1000]);
    expect(s.seeds.length).toBeGreaterThanOrEqual(3);
    expect([...ARMS]).toEqual(['scratch', 'pretrained', 'pretrained-old', 'random-frozen']);
    const { pretrains, finetunes } = plannedRuns(s);
    expect(pretrains).toHaveLength(2 * s.seeds.length);
    expect(finetunes).toHaveLength(s.labels.length * ARMS.length * s.seeds.length);
    expect(new Set(finetunes.map((f) => `${f.arm}/${f.labels}/${f.seed}`)).size).toBe(finetunes.length);
  });

  it('gives every arm the same step budget, data, seed and optimizer: only the model differs', () => {
    for (const tiny of [false, true]) {
      const s = defaultSettings(tiny);
      for (const labels of s.labels)
        for (const seed of s.seeds) {
          const specs = ARMS.map((arm) => finetune(s, arm, seed, labels));
          for (const spec of specs) {
            expect(spec.training).toEqual(specs[0]!.training);
            expect(spec.dataset).toEqual(specs[0]!.dataset);
            expect(spec.training.steps).toBe(s.finetuneSteps[String(labels)]);
            expect(spec.training.epochs).toBeUndefined();
            expect(spec.training.earlyStopping).toBeUndefined();
            // The same encoder architecture everywhere.
            expect([spec.model.inputShape, spec.model.filters, spec.model.latentDim]).toEqual([
              specs[0]!.model.inputShape,
              specs[0]!.model.filters,
              specs[0]!.model.latentDim,
            ]);
          }
          const [scratch, pretrained, old, frozen] = specs as [FinetuneSpec, FinetuneSpec, FinetuneSpec, FinetuneSpec];
          expect(scratch.model.baseRunId).toBeNull();
          expect(pretrained.model.baseRunId).not.toBeNull();
          // Scratch and pretrained differ by the base alone.
          expect({ ...pretrained.model, baseRunId: null }).toEqual(scratch.model);
          expect(old.model).toMatchObject({ cutAt: 'latent', headNorm: 'none', freezing: { mode: 'none' } });
          expect(frozen.model).toMatchObject({ baseRunId: null, freezing: { mode: 'base' } });
          expect(scratch.model.freezing.mode).toBe('none');
        }
    }
  });

  it('pretrains the best recipe on the whole pool and the old one as the seed did', () => {
    const s = defaultSettings(false);
    const best = RunSpecSchema.parse(pretrainSpec(s, 'best', 1)) as PretrainSpec;
    const old = RunSpecSchema.parse(pretrainSpec(s, 'old', 1)) as PretrainSpec;
    expect(best.dataset).toEqual({ name: 'mnist', testPerClass: s.testPerClass });
    expect(best.model).toMatchObject({ loss: 'binaryCrossentropy', latentActivation: 'linear' });
    expect(best.training).toMatchObject({ steps: 9000, earlyStopping: { metric: 'val_mse', patience: 3 } });
    expect(old.dataset).toMatchObject({ name: 'mnist', limit: 8000 });
    expect(old.model).toMatchObject({ loss: 'mse', latentActivation: 'relu' });
    expect(old.training).toMatchObject({ epochs: 3, batchSize: 64 });
    expect(() => finetuneSpec(s, 'pretrained', 1, 10, null)).toThrow(/needs/);
    expect(() => finetuneSpec(s, 'scratch', 1, 10, randomUUID())).toThrow(/takes no/);
  });

  it('holds out nothing with one label per class, and a tenth otherwise', () => {
    expect(finetune(undefined, 'scratch', 1, 1).training.validationSplit).toBe(0);
    expect(finetune(undefined, 'scratch', 1, 10).training.validationSplit).toBe(0.1);
  });

  it('reads flags, writes --tiny elsewhere than docs/, and refuses a label count without a budget', () => {
    expect(parseSettings([]).outDir).toBe('docs/experiments');
    const tiny = parseSettings(['--tiny']);
    expect(tiny.tiny).toBe(true);
    expect(tiny.outDir).not.toMatch(/^docs/);
    expect(parseSettings(['--tiny', '--out', '/tmp/x', '--seeds', '4,5,6']).seeds).toEqual([4, 5, 6]);
    expect(parseSettings(['--steps', '1=50', '--labels', '1']).finetuneSteps['1']).toBe(50);
    expect(() => parseSettings(['--labels', '5'])).toThrow(/no budget for 5/);
    expect(() => parseSettings(['--bogus', '1'])).toThrow(/unknown flag/);
  });
});

describe('the report table', () => {
  it('gives each arm its mean ± 95 % interval and its difference from scratch paired by seed', () => {
    const s = { ...defaultSettings(false), labels: [10], seeds: [1, 2, 3] };
    const outcome = (arm: Arm, seed: number, last: number | null, status = 'SUCCEEDED'): FinetuneOutcome => ({
      arm,
      labels: 10,
      seed,
      id: `${arm}-${seed}`,
      status: status as FinetuneOutcome['status'],
      failureReason: null,
      lastAccuracy: last,
      bestAccuracy: last === null ? null : last - 0.01,
      lastMacroF1: last,
      seconds: 1,
    });
    const rows = resultRows(s, [
      outcome('scratch', 1, 0.6),
      outcome('scratch', 2, 0.7),
      outcome('scratch', 3, 0.8),
      outcome('pretrained', 1, 0.7),
      outcome('pretrained', 2, 0.8),
      outcome('pretrained', 3, 0.9),
      outcome('random-frozen', 1, 0.5),
      outcome('random-frozen', 2, null, 'FAILED'),
    ]);
    expect(rows.map((r) => r[1])).toEqual([...ARMS]);
    const [scratch, pretrained, old, frozen] = rows as [string[], string[], string[], string[]];
    // 0.7 ± 4.303 · 0.1 / √3.
    expect(scratch.slice(2)).toEqual(['600', '0.700 ± 0.248', '0.690 ± 0.248', '', '3/3']);
    // Every seed 10 points above scratch: a zero-width paired interval although each arm's is wide.
    expect(pretrained.slice(3)).toEqual(['0.800 ± 0.248', '0.790 ± 0.248', '10.0 ± 0.0', '3/3']);
    expect(old.slice(3)).toEqual(['-', '-', '-', '0/0']);
    expect(frozen.slice(3)).toEqual(['0.500 (n = 1)', '0.490 (n = 1)', '-10.0 (n = 1)', '1/2']);
  });
});

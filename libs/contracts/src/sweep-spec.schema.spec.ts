import { expandSweep, rangeValueAt } from './sweep-expansion';
import { sweepGoal, SweepSpecSchema, type SweepSpecInput } from './sweep-spec.schema';
import { applySweepValues } from './sweep-parameters';

const base = { name: 'shapes', dataset: { name: 'synthetic-shapes' as const, perClass: 20 }, training: { epochs: 4 } };

function issues(input: SweepSpecInput): { path: string; message: string }[] {
  const parsed = SweepSpecSchema.safeParse(input);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('sweep expansion', () => {
  it('grid: every combination, the last parameter fastest', () => {
    const { runs } = expandSweep({
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.01, 0.001], 'model.freezing.mode': ['none', 'base', 'two-stage'] },
      maxRuns: 10,
      seed: 0,
    }) as { runs: object[] };
    expect(runs).toHaveLength(6);
    expect(runs[0]).toEqual({ 'training.learningRate': 0.01, 'model.freezing.mode': 'none' });
    expect(runs[1]).toEqual({ 'training.learningRate': 0.01, 'model.freezing.mode': 'base' });
    expect(runs[5]).toEqual({ 'training.learningRate': 0.001, 'model.freezing.mode': 'two-stage' });
  });

  it('gives the same runs whatever order the parameters are listed in (a stored spec comes back reordered)', () => {
    const lr = { min: 1e-4, max: 1e-2, log: true as const };
    const dropout = [0, 0.1, 0.2, 0.3, 0.4];
    for (const strategy of ['random', 'grid'] as const) {
      const given = strategy === 'grid' ? [1e-4, 1e-3] : lr;
      const one = expandSweep({
        strategy,
        parameters: { 'training.learningRate': given, 'model.dropout': dropout },
        maxRuns: 10,
        seed: 11,
      });
      const other = expandSweep({
        strategy,
        parameters: { 'model.dropout': dropout, 'training.learningRate': given },
        maxRuns: 10,
        seed: 11,
      });
      expect(other).toEqual(one);
    }
  });

  it('grid: refuses more combinations than maxRuns instead of cutting', () => {
    expect(
      expandSweep({
        strategy: 'grid',
        parameters: { 'model.headUnits': [0, 8, 16], 'training.seed': [1, 2] },
        maxRuns: 5,
        seed: 0,
      }),
    ).toEqual({ tooMany: 6 });
  });

  it('random: maxRuns seeded draws, in range, log-uniform, integers rounded', () => {
    const spec = {
      strategy: 'random' as const,
      parameters: {
        'training.learningRate': { min: 1e-4, max: 1e-1, log: true as const },
        'model.headUnits': { min: 4, max: 64 },
        'model.dropout': [0, 0.5],
      },
      maxRuns: 200,
      seed: 7,
    };
    const { runs } = expandSweep(spec) as { runs: Record<string, number>[] };
    expect(runs).toHaveLength(200);
    expect(expandSweep(spec)).toEqual({ runs });
    expect(expandSweep({ ...spec, seed: 8 })).not.toEqual({ runs });
    for (const run of runs) {
      expect(run['training.learningRate']).toBeGreaterThanOrEqual(1e-4);
      expect(run['training.learningRate']).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(run['model.headUnits'])).toBe(true);
      expect([0, 0.5]).toContain(run['model.dropout']);
    }
    // Log-uniform: about a third of the draws in each decade.
    const below1e3 = runs.filter((r) => r['training.learningRate']! < 1e-3).length;
    expect(below1e3).toBeGreaterThan(40);
    expect(below1e3).toBeLessThan(95);
  });

  it('writes values into a copy of the base, augmentation strength as a scaled augmentation', () => {
    const parsed = SweepSpecSchema.parse({
      name: 's',
      base,
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.01] },
    });
    const applied = applySweepValues(parsed.base, {
      'training.learningRate': 0.05,
      'model.freezing.mode': 'base',
      'augmentation.strength': 0.5,
    });
    expect(applied).toMatchObject({
      training: { learningRate: 0.05, epochs: 4 },
      model: { freezing: { mode: 'base' } },
      augmentation: { rotationRange: 10, zoomRange: 0.075 },
    });
    expect(parsed.base.training.learningRate).toBe(0.001);
    expect(applySweepValues(parsed.base, { 'augmentation.strength': 0 })['augmentation']).toBeUndefined();
  });
});

describe('SweepSpecSchema', () => {
  it('fills in the defaults', () => {
    expect(
      SweepSpecSchema.parse({ name: 's', base, strategy: 'random', parameters: { 'model.headUnits': [0, 8] } }),
    ).toMatchObject({
      maxRuns: 20,
      seed: 0,
      metric: 'test/accuracy',
      base: { kind: 'finetune', training: { epochs: 4 } },
    });
  });

  it("types a client's base as a fine-tune spec, its kind optional as the schema fills it in", () => {
    // The compiler's half is checked by `npm run typecheck`: an @ts-expect-error whose line compiles fails it.
    const sweep = { name: 's', strategy: 'grid' as const, parameters: { 'training.seed': [1, 2] } };
    const implied: SweepSpecInput = { ...sweep, base };
    const written: SweepSpecInput = { ...sweep, base: { ...base, kind: 'finetune' } };
    const notASpec: SweepSpecInput = {
      ...sweep,
      // @ts-expect-error a base is a fine-tune spec, not any value
      base: 42,
    };
    const otherKind: SweepSpecInput = {
      ...sweep,
      // @ts-expect-error a base that names its kind names a fine-tune's
      base: { ...base, kind: 'pretrain' },
    };
    const noDataset: SweepSpecInput = {
      ...sweep,
      // @ts-expect-error a fine-tune needs a dataset
      base: { name: 'b' },
    };
    expect([implied, written].map((s) => SweepSpecSchema.safeParse(s).success)).toEqual([true, true]);
    expect([notASpec, otherKind, noDataset].map((s) => issues(s)[0]?.path)).toEqual([
      'base',
      'base.kind',
      'base.dataset',
    ]);
  });

  it("ranks by a summary metric's own goal, refusing the other, and by a test/ field's given goal", () => {
    const sweep = (metric: string, goal?: 'max' | 'min'): SweepSpecInput => ({
      name: 's',
      base,
      strategy: 'random',
      parameters: { 'model.headUnits': [0, 8] },
      metric,
      ...(goal ? { goal } : {}),
    });
    // val_loss's summary keeps its lowest: ranking the highest of those first would put the worst run first.
    expect(issues(sweep('val_loss', 'max'))).toEqual([
      { path: 'goal', message: expect.stringContaining('leave goal out or give "min"') },
    ]);
    expect(issues(sweep('val_accuracy', 'min'))).toEqual([{ path: 'goal', message: expect.any(String) }]);
    expect(sweepGoal(SweepSpecSchema.parse(sweep('val_loss')))).toBe('min');
    expect(sweepGoal(SweepSpecSchema.parse(sweep('val_loss', 'min')))).toBe('min');
    expect(sweepGoal(SweepSpecSchema.parse(sweep('val_accuracy')))).toBe('max');
    expect(sweepGoal(SweepSpecSchema.parse(sweep('test/accuracy')))).toBe('max');
    expect(sweepGoal(SweepSpecSchema.parse(sweep('test/accuracy', 'min')))).toBe('min');
    // A sweep stored before the check, by the wrong end of a summary metric, ranks by its own.
    expect(sweepGoal({ metric: 'val_loss', goal: 'max' })).toBe('min');
  });

  it('refuses a metric no fine-tune records, before any run trains unranked', () => {
    const sweep = (metric: string): SweepSpecInput => ({
      name: 's',
      base,
      strategy: 'random',
      parameters: { 'model.headUnits': [0, 8] },
      metric,
    });
    for (const typo of ['test/acc', 'val_acuracy', 'val_mse', 'test/samples', 'test/constructor'])
      expect(issues(sweep(typo))).toEqual([
        { path: 'metric', message: expect.stringContaining(`no run records "${typo}"`) },
      ]);
    for (const metric of ['test/accuracy', 'test/macroF1', 'test/weightedRecall', 'val_accuracy', 'val_loss', 'loss'])
      expect(issues(sweep(metric))).toEqual([]);
  });

  it('names the bad value of a parameter', () => {
    expect(
      issues({
        name: 's',
        base,
        strategy: 'grid',
        parameters: { 'training.learningRate': [0.01, 5], 'model.freezing.mode': ['none', 'all'] },
      }),
    ).toEqual([
      { path: 'parameters.training.learningRate.1', message: expect.stringContaining('training.learningRate') },
      { path: 'parameters.model.freezing.mode.1', message: expect.stringContaining('"all"') },
    ]);
  });

  describe('a random range outside its field', () => {
    const random = (parameters: SweepSpecInput['parameters'], seed = 0, maxRuns = 1): SweepSpecInput => ({
      name: 's',
      base,
      strategy: 'random',
      parameters,
      seed,
      maxRuns,
    });

    it('is refused whatever the seed, naming min or max, with the bound the field has', () => {
      const huge = { 'training.learningRate': { min: 1e-308, max: 1e308, log: true as const } };
      // A single draw falls inside the field's bounds for about half the seeds: none may pass.
      for (let seed = 0; seed < 20; seed++)
        expect(issues(random(huge, seed))).toEqual([
          { path: 'parameters.training.learningRate.max', message: expect.stringMatching(/^1e\+308: .*<=1/) },
        ]);
      expect(issues(random({ 'training.learningRate': { min: 0, max: 0.1 } }))).toEqual([
        { path: 'parameters.training.learningRate.min', message: expect.stringMatching(/^0: .*>0/) },
      ]);
      expect(issues(random({ 'model.dropout': { min: 0.1, max: 0.95 } }))).toEqual([
        { path: 'parameters.model.dropout.max', message: expect.stringMatching(/^0\.95: .*<=0\.9/) },
      ]);
      expect(issues(random({ 'training.batchSize': { min: 0, max: 2048 } }))).toEqual([
        { path: 'parameters.training.batchSize.min', message: expect.stringMatching(/>=1/) },
        { path: 'parameters.training.batchSize.max', message: expect.stringMatching(/<=1024/) },
      ]);
      // The bound of the base's own dataset: synthetic shapes take at most 5,000 labels a class.
      expect(issues(random({ 'dataset.labelsPerClass': { min: 10, max: 5001 } }))).toEqual([
        { path: 'parameters.dataset.labelsPerClass.max', message: expect.stringMatching(/<=5000/) },
      ]);
    });

    it('is refused when a whole-number field has a fractional end, min is not below max, or a log range starts at 0', () => {
      expect(issues(random({ 'model.headUnits': { min: 4.5, max: 64 } }))).toEqual([
        { path: 'parameters.model.headUnits.min', message: expect.stringMatching(/^4\.5: .*int/) },
      ]);
      expect(issues(random({ 'training.learningRate': { min: 0.1, max: 0.01 } }))).toEqual([
        { path: 'parameters.training.learningRate.max', message: 'min must be below max' },
      ]);
      expect(issues(random({ 'training.learningRate': { min: 0, max: 0.01, log: true } }))).toEqual([
        { path: 'parameters.training.learningRate.min', message: 'a log range needs min > 0' },
      ]);
    });

    it('passes when both ends lie in the field, and every draw then does', () => {
      const parsed = SweepSpecSchema.safeParse(
        random(
          { 'training.learningRate': { min: 1e-6, max: 1, log: true }, 'model.dropout': { min: 0, max: 0.9 } },
          3,
          200,
        ),
      );
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    });
  });

  it('refuses unknown parameters, ranges in a grid, too many runs and clashing combinations', () => {
    expect(
      issues({ name: 's', base, strategy: 'grid', parameters: { 'training.momentum': [0.9] } as never })[0],
    ).toEqual({
      path: 'parameters',
      message: 'Unrecognized key: "training.momentum"',
    });
    expect(
      issues({
        name: 's',
        base,
        strategy: 'grid',
        parameters: { 'training.learningRate': { min: 0.001, max: 0.1 } },
      })[0]!.path,
    ).toBe('parameters.training.learningRate');
    expect(
      issues({
        name: 's',
        base,
        strategy: 'grid',
        parameters: { 'training.seed': Array.from({ length: 30 }, (_, i) => i) },
        maxRuns: 10,
      })[0],
    ).toEqual({
      path: 'maxRuns',
      message: expect.stringContaining('30 combinations'),
    });
    expect(
      issues({ name: 's', base, strategy: 'random', parameters: { 'model.headUnits': [0] }, maxRuns: 201 })[0]!.path,
    ).toBe('maxRuns');
    const clash = issues({
      name: 's',
      base,
      strategy: 'grid',
      parameters: { 'model.freezing.mode': ['two-stage'], 'training.epochs': [1, 3] },
    });
    expect(clash[0]).toEqual({
      path: 'parameters',
      message: expect.stringMatching(
        /^Run 1 \(training.epochs=1, model.freezing.mode=two-stage\): model.freezing.unfreezeAfterEpochs/,
      ),
    });
  });

  it('sweeps a steps budget over a base budgeted in epochs (or with none), each run with steps alone', () => {
    for (const training of [{ epochs: 4 }, {}, { steps: 50 }]) {
      const parsed = SweepSpecSchema.safeParse({
        name: 'steps',
        base: { ...base, training },
        strategy: 'grid',
        parameters: { 'training.steps': [100, 300] },
      });
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
      const { runs } = expandSweep(parsed.data!) as { runs: Record<string, number>[] };
      const budgets = runs.map((values) => {
        const { training: t } = applySweepValues(parsed.data!.base, values) as { training: Record<string, unknown> };
        return [t['epochs'], t['steps']];
      });
      expect(budgets).toEqual([
        [undefined, 100],
        [undefined, 300],
      ]);
    }
    // And epochs over a base budgeted in steps.
    const parsed = SweepSpecSchema.parse({
      name: 'epochs',
      base: { ...base, training: { steps: 50 } },
      strategy: 'grid',
      parameters: { 'training.epochs': [2] },
    });
    expect((applySweepValues(parsed.base, { 'training.epochs': 2 }) as { training: object }).training).toMatchObject({
      epochs: 2,
    });
    expect(
      (applySweepValues(parsed.base, { 'training.epochs': 2 }) as { training: object }).training,
    ).not.toHaveProperty('steps');
    expect(
      issues({
        name: 'both',
        base,
        strategy: 'grid',
        parameters: { 'training.epochs': [2], 'training.steps': [100] },
      }),
    ).toEqual([
      {
        path: 'parameters.training.steps',
        message: 'A budget is epochs or steps: sweep training.epochs or training.steps, not both',
      },
    ]);
    expect(issues({ name: 'bad', base, strategy: 'grid', parameters: { 'training.steps': [0] } })).toEqual([
      { path: 'parameters.training.steps.0', message: expect.stringMatching(/^0: training.steps/) },
    ]);
  });

  it('refuses a parameter the base dataset does not have', () => {
    const folder = {
      ...base,
      dataset: { name: 'image-folder' as const, datasetId: '00000000-0000-4000-8000-000000000000' },
    };
    expect(
      issues({ name: 's', base: folder, strategy: 'grid', parameters: { 'dataset.labelsPerClass': [5] } })[0],
    ).toEqual({
      path: 'parameters.dataset.labelsPerClass.0',
      message: '5: dataset.labelsPerClass: Unknown field',
    });
  });
});

describe('SweepSpecSchema bounds what a request may cost (issue #9)', () => {
  const timed = (input: unknown) => {
    const started = performance.now();
    const parsed = SweepSpecSchema.safeParse(input);
    return {
      ms: performance.now() - started,
      paths: parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.')),
    };
  };

  it.each([1e6, 1e9, Number.MAX_SAFE_INTEGER])('refuses maxRuns %d without expanding anything', (maxRuns) => {
    const { ms, paths } = timed({
      name: 's',
      base,
      strategy: 'random',
      parameters: { 'training.learningRate': { min: 1e-4, max: 1e-1 } },
      maxRuns,
    });
    expect(paths).toEqual(['maxRuns']);
    expect(ms).toBeLessThan(500);
  });

  it('runs no cross-field check while any field is invalid', () => {
    // A bad name next to a huge grid: only the name (and nothing the check would find) is reported.
    const grid = {
      'training.seed': Array.from({ length: 50 }, (_, i) => i),
      'model.headUnits': Array.from({ length: 50 }, (_, i) => i),
    };
    expect(timed({ name: '', base, strategy: 'grid', parameters: grid, maxRuns: 200 }).paths).toEqual(['name']);
  });

  it('sizes a grid before expanding it: 50 values for each of 9 parameters is refused at once', () => {
    const parameters = {
      'training.learningRate': Array.from({ length: 50 }, (_, i) => (i + 1) / 1000),
      'training.batchSize': Array.from({ length: 50 }, (_, i) => i + 1),
      'training.epochs': Array.from({ length: 50 }, (_, i) => i + 2),
      'training.seed': Array.from({ length: 50 }, (_, i) => i),
      'model.headUnits': Array.from({ length: 50 }, (_, i) => i),
      'model.dropout': Array.from({ length: 50 }, (_, i) => i / 100),
      'dataset.labelsPerClass': Array.from({ length: 50 }, (_, i) => i + 1),
      'augmentation.strength': Array.from({ length: 50 }, (_, i) => i / 50),
      'model.freezing.mode': ['none', 'base'],
    };
    const { ms, paths } = timed({ name: 's', base, strategy: 'grid', parameters, maxRuns: 200 });
    expect(paths).toEqual(['maxRuns']);
    expect(ms).toBeLessThan(2000);
    expect(
      issues({ name: 's', base, strategy: 'grid', parameters, maxRuns: 200 } as SweepSpecInput)[0]!.message,
    ).toContain('more than 200 combinations');
  });

  it('bounds value lists and string values', () => {
    expect(
      timed({
        name: 's',
        base,
        strategy: 'grid',
        parameters: { 'training.seed': Array.from({ length: 51 }, (_, i) => i) },
      }).paths,
    ).toEqual(['parameters.training.seed']);
    expect(
      timed({ name: 's', base, strategy: 'grid', parameters: { 'model.freezing.mode': ['x'.repeat(121)] } }).paths,
    ).toEqual(['parameters.model.freezing.mode.0']);
    expect(
      timed({ name: 's', base, strategy: 'grid', parameters: { 'model.freezing.mode': ['base\n'] } }).paths,
    ).toEqual(['parameters.model.freezing.mode.0']);
    expect(
      timed({ name: 's', base, strategy: 'grid', parameters: { 'training.seed': [1] }, metric: 'acc\u0000' }).paths,
    ).toEqual(['metric']);
  });

  it('expandSweep refuses a maxRuns outside 1..200 whoever calls it', () => {
    expect(() =>
      expandSweep({ strategy: 'random', parameters: { 'model.headUnits': [1] }, maxRuns: 1e9, seed: 0 }),
    ).toThrow(RangeError);
  });

  it('applySweepValues walks only the known parameter paths', () => {
    const parsed = SweepSpecSchema.parse({ name: 's', base, strategy: 'grid', parameters: { 'training.seed': [1] } });
    expect(() => applySweepValues(parsed.base, { ['__proto__.polluted' as 'training.seed']: 1 })).toThrow(
      'Unknown sweep parameter',
    );
    expect(() => applySweepValues(parsed.base, { ['constructor.prototype.polluted' as 'training.seed']: 1 })).toThrow(
      'Unknown sweep parameter',
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a __proto__ key in parameters is never copied (zod records skip it; the API refuses it with a 400)', () => {
    const input = JSON.parse(
      `{"name":"s","base":${JSON.stringify(base)},"strategy":"grid","parameters":{"__proto__":{"polluted":[1]},"training.seed":[1]}}`,
    );
    const parsed = SweepSpecSchema.parse(input);
    expect(Object.keys(parsed.parameters)).toEqual(['training.seed']);
    expect(Object.getPrototypeOf(parsed.parameters)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('rangeValueAt: a random sweep draw from a range', () => {
  it('never leaves the range, whatever floating point makes of a log range’s ends', () => {
    const range = { min: 0.3, max: 0.7, log: true as const };
    // exp(log(0.3)) is 0.29999999999999993: below the end the sweep was checked against.
    expect(rangeValueAt(range, 0, false)).toBe(0.3);
    expect(rangeValueAt(range, 1 - Number.EPSILON, false)).toBeLessThanOrEqual(0.7);
    for (let u = 0; u < 1; u += 1 / 997) {
      const value = rangeValueAt(range, u, false);
      expect(value).toBeGreaterThanOrEqual(0.3);
      expect(value).toBeLessThanOrEqual(0.7);
    }
    expect(rangeValueAt({ min: 2, max: 6 }, 0.5, true)).toBe(4);
  });
});

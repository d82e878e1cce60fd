import { parseRunSpec } from './run-spec.schema';
import { isResourceClass, priorityOf, resourceClassOf } from './resources.schema';
import { SweepSpecSchema } from './sweep-spec.schema';

const pretrain = { kind: 'pretrain', name: 'p', dataset: { name: 'synthetic-shapes' } };

describe('a run spec’s resources and priority', () => {
  it('defaults to the any class and priority 0, and keeps what is given', () => {
    const plain = parseRunSpec(pretrain);
    expect(plain.ok && [resourceClassOf(plain.spec), priorityOf(plain.spec)]).toEqual(['any', 0]);
    const given = parseRunSpec({ ...pretrain, resources: { accelerator: 'gpu', memoryGb: 12.5 }, priority: -20 });
    expect(given.ok && [resourceClassOf(given.spec), given.spec.resources?.memoryGb, priorityOf(given.spec)]).toEqual([
      'gpu',
      12.5,
      -20,
    ]);
    // Memory alone: still the any class.
    const memory = parseRunSpec({ ...pretrain, resources: { memoryGb: 2 } });
    expect(memory.ok && resourceClassOf(memory.spec)).toBe('any');
  });

  it.each([
    [{ resources: { accelerator: 'tpu' } }, 'resources.accelerator'],
    [{ resources: { accelerator: 'GPU' } }, 'resources.accelerator'],
    [{ resources: { memoryGb: 0 } }, 'resources.memoryGb'],
    [{ resources: { memoryGb: 1e9 } }, 'resources.memoryGb'],
    [{ resources: { memoryGb: '8' } }, 'resources.memoryGb'],
    [{ resources: { gpus: 2 } }, 'resources.gpus'],
    [{ resources: JSON.parse('{"__proto__": {"accelerator": "gpu"}}') }, 'resources.__proto__'],
    [{ resources: 'gpu' }, 'resources'],
    [{ priority: 101 }, 'priority'],
    [{ priority: -101 }, 'priority'],
    [{ priority: 0.5 }, 'priority'],
    [{ priority: '1' }, 'priority'],
  ])('refuses %j naming %s', (extra, field) => {
    const result = parseRunSpec({ ...pretrain, ...extra });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.field)).toContain(field);
  });

  it('takes them in evaluation and sweep base specs too', () => {
    const evaluate = parseRunSpec({
      kind: 'evaluate',
      name: 'e',
      checkpoint: { runId: '00000000-0000-4000-8000-000000000000' },
      resources: { accelerator: 'cpu' },
      priority: 5,
    });
    expect(evaluate.ok && [resourceClassOf(evaluate.spec), priorityOf(evaluate.spec)]).toEqual(['cpu', 5]);
    const sweep = SweepSpecSchema.safeParse({
      name: 's',
      base: { name: 'b', dataset: { name: 'synthetic-shapes' }, resources: { accelerator: 'gpu' } },
      strategy: 'grid',
      parameters: { 'training.learningRate': [0.001, 0.01] },
    });
    expect(sweep.success && resourceClassOf(sweep.data.base)).toBe('gpu');
  });

  it('knows its classes', () => {
    expect(['any', 'cpu', 'gpu', 'tpu', '__proto__'].map(isResourceClass)).toEqual([true, true, true, false, false]);
  });
});

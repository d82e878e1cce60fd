import { RunSpecSchema } from './run-spec.schema';
import { RUN_KINDS, runKindOf, specKindOf } from './run-state';

describe('run kinds in both spellings', () => {
  it('maps every run kind to a spec kind and back', () => {
    expect(RUN_KINDS.map((kind) => runKindOf(specKindOf(kind)))).toEqual([...RUN_KINDS]);
    expect(RUN_KINDS.map(specKindOf)).toEqual(['pretrain', 'finetune', 'evaluate']);
  });

  it('knows every kind a spec can have', () => {
    const specKinds = RunSpecSchema.out.options.map((option) => option.shape.kind.value);
    expect(specKinds.map((kind) => specKindOf(runKindOf(kind)))).toEqual(specKinds);
    expect(new Set(specKinds.map(runKindOf))).toEqual(new Set(RUN_KINDS));
  });
});

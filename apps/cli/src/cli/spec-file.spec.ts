import { parseSpecText, SpecFileError, specKindOf } from './spec-file';

const valid = `kind: pretrain
name: tiny
dataset: { name: synthetic-shapes, imageSize: 16, perClass: 20, testPerClass: 5 }
model:
  type: conv-autoencoder
  inputShape: [16, 16, 1]
  filters: [4]
  latentDim: 8
training:
  epochs: 2
  batchSize: 16
`;

function problems(text: string, file = 'spec.yaml') {
  try {
    parseSpecText(text, file);
  } catch (error) {
    if (error instanceof SpecFileError) return error.message.split('\n');
    throw error;
  }
  return [];
}

describe('spec files', () => {
  it('accepts a valid YAML run spec and sends it as written', () => {
    expect(parseSpecText(valid, 'spec.yaml')).toMatchObject({
      kind: 'run',
      spec: { kind: 'pretrain', training: { epochs: 2 } },
    });
  });

  it('reads JSON through the same parser', () => {
    const json = JSON.stringify(
      {
        kind: 'pretrain',
        name: 'x',
        dataset: { name: 'synthetic-shapes' },
        model: { type: 'conv-autoencoder' },
        training: { epochs: 0 },
      },
      null,
      2,
    );
    expect(problems(json, 'spec.json')).toEqual([expect.stringMatching(/^spec\.json:\d+:\d+: training\.epochs: /)]);
  });

  it('names file:line:column of a bad value and of an unknown field', () => {
    const text = valid.replace('epochs: 2', 'epochs: -1').replace('batchSize: 16', 'batchSize: 16\n  colour: blue');
    expect(problems(text)).toEqual([
      expect.stringMatching(/^spec\.yaml:10:3: training\.epochs: Too small/),
      'spec.yaml:12:3: training.colour: Unknown field',
    ]);
  });

  it('points a missing field at its parent', () => {
    expect(problems(valid.replace('name: tiny\n', ''))).toEqual([expect.stringMatching(/^spec\.yaml:1:1: name: /)]);
  });

  it('locates a YAML syntax error', () => {
    expect(problems('kind: pretrain\nname: [unclosed\n')).toEqual([expect.stringMatching(/^spec\.yaml:\d+:\d+: .*/)]);
  });

  it('tells a pipeline and a sweep from a run', () => {
    expect(specKindOf({ kind: 'pretrain' })).toBe('run');
    expect(specKindOf({ pretrain: {}, finetunes: [] })).toBe('pipeline');
    expect(specKindOf({ base: {}, strategy: 'grid', parameters: {} })).toBe('sweep');
  });
});

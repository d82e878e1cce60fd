import { parseSpecText, SpecFileError, specFormatOfText, specKindOf, type SpecKind } from './spec-file';

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

function problems(text: string, file = 'spec.yaml', kind?: SpecKind) {
  try {
    parseSpecText(text, file, kind);
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

  it('reads a .json file as JSON: a trailing comma YAML would take is refused, with its line and column', () => {
    const text = '{\n  "kind": "pretrain",\n  "training": { "epochs": 1, },\n}\n';
    expect(problems(text, 'spec.json')).toEqual([
      'spec.json:3:30: Expected double-quoted property name (not valid JSON)',
    ]);
    // Cut short: V8 gives no position, the end of the text is where it stopped.
    expect(problems('{ "kind":', 'spec.json')).toEqual([
      'spec.json:1:10: Unexpected end of JSON input (not valid JSON)',
    ]);
    // The same text named .yaml is YAML, which takes it (then the schema finds what is missing).
    expect(problems(text, 'spec.yaml')[0]).not.toContain('not valid JSON');
  });

  it('refuses a key given twice in a JSON file, where JSON.parse would keep the last silently', () => {
    const json = JSON.stringify({ kind: 'pretrain', name: 'x' }).replace('"name"', '"name": "y", "name"');
    expect(problems(json, 'spec.json')).toEqual([expect.stringMatching(/^spec\.json:1:\d+: Map keys must be unique/)]);
  });

  it('tells JSON from YAML on stdin by its first character', () => {
    expect(specFormatOfText('\n  {"kind": "pretrain"}')).toBe('json');
    expect(specFormatOfText('kind: pretrain\n')).toBe('yaml');
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

  describe("--kind that is not the kind of the file: said plainly, not as the other schema's errors", () => {
    const sweep = 'name: lr\nbase: { kind: pretrain }\nparameters: { training.learningRate: [0.1, 0.01] }\n';
    const pipeline = 'name: p\npretrain: { kind: pretrain }\nfinetunes: []\n';
    it.each([
      [valid, 'sweep', 'a run spec (it has kind: pretrain)', 'run'],
      ['name: x\ntraining: { epochs: 1 }\n', 'sweep', 'a run spec (it has no parameters, strategy or base)', 'run'],
      [valid, 'pipeline', 'a run spec (it has kind: pretrain)', 'run'],
      [sweep, 'run', 'a sweep spec (it has parameters, base)', 'sweep'],
      [pipeline, 'sweep', 'a pipeline spec (it has pretrain, finetunes)', 'pipeline'],
    ] as const)('%j as --kind %s', (text, kind, looks, instead) => {
      expect(problems(text, 'spec.yaml', kind)).toEqual([
        `spec.yaml:1:1: --kind ${kind}, but spec.yaml looks like ${looks}, not a ${kind} spec: submit it without --kind (the kind is read from the file) or with --kind ${instead}`,
      ]);
    });
  });
});

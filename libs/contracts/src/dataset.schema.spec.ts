import { parseRunSpec } from './run-spec.schema';

const datasetId = '5f0e7c1a-9d2b-4c3e-8f4a-1b2c3d4e5f60';
const version = 'a'.repeat(64);
const withStream = (stream: unknown) =>
  parseRunSpec({ kind: 'finetune', name: 'x', dataset: { name: 'image-folder', datasetId, stream } });
const fields = (result: ReturnType<typeof parseRunSpec>) => (result.ok ? [] : result.errors.map((e) => e.field));

describe('an image-folder dataset streamed from a packed version', () => {
  it('fills the stream settings around the version', () => {
    const result = withStream({ version });
    expect(result.ok && result.spec.dataset).toMatchObject({
      stream: { version, shuffleBuffer: 1000, readAheadShards: 2, maxBadFraction: 0 },
    });
    expect(result.ok && result.spec.dataset?.name === 'image-folder' && result.spec.dataset.stream?.threads).toBe(
      undefined,
    );
    const plain = parseRunSpec({ kind: 'finetune', name: 'x', dataset: { name: 'image-folder', datasetId } });
    expect(plain.ok && plain.spec.dataset && 'stream' in plain.spec.dataset).toBe(false);
  });

  it('refuses a version that is not a manifest sha256, naming the field', () => {
    for (const bad of [
      'A'.repeat(64),
      'a'.repeat(63),
      'a'.repeat(65),
      `../../${'a'.repeat(58)}`,
      `${'a'.repeat(63)}\n`,
      `${'a'.repeat(63)}\u0000`,
      'a'.repeat(100_000),
      42,
      null,
    ]) {
      expect(fields(withStream({ version: bad }))).toEqual(['dataset.stream.version']);
    }
  });

  it('bounds every setting, and refuses unknown and prototype keys', () => {
    for (const [setting, value] of [
      ['shuffleBuffer', 0],
      ['shuffleBuffer', 1e9],
      ['shuffleBuffer', 2.5],
      ['readAheadShards', -1],
      ['readAheadShards', 9],
      ['threads', 0],
      ['threads', 17],
      ['maxBadFraction', -0.1],
      ['maxBadFraction', 1.5],
      ['maxBadFraction', Number.NaN],
    ] as const) {
      expect(fields(withStream({ version, [setting]: value }))).toEqual([`dataset.stream.${setting}`]);
    }
    expect(fields(withStream({ version, root: 'other/' }))).toEqual(['dataset.stream.root']);
    expect(fields(withStream(JSON.parse(`{"version":"${version}","__proto__":{"polluted":true}}`)))).toEqual([
      'dataset.stream.__proto__',
    ]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe("an image folder's split", () => {
  const withSplit = (split: unknown) =>
    parseRunSpec({ kind: 'finetune', name: 'x', dataset: { name: 'image-folder', datasetId, split } });

  it('holds out a test split: 0 is refused naming the field, with one message', () => {
    const refused = withSplit({ test: 0 });
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.errors).toEqual([
      { field: 'dataset.split.test', message: 'Expected above 0: a run reports its test scores on this split' },
    ]);
    for (const bad of [-0.1, 0.51, '0.2', null])
      expect(fields(withSplit({ test: bad }))).toEqual(['dataset.split.test']);
    expect(withSplit({ test: 0.01 }).ok).toBe(true);
    expect(withSplit({ validation: 0 }).ok).toBe(true);
  });
});

describe('image shapes', () => {
  it('names the channels an image may have', () => {
    for (const [dataset, field] of [
      [{ name: 'image-folder', datasetId, imageShape: [24, 24, 2] }, 'dataset.imageShape.2'],
      [{ name: 'synthetic-shapes', channels: 4 }, 'dataset.channels'],
    ] as const) {
      const result = parseRunSpec({ kind: 'finetune', name: 'x', dataset });
      expect(!result.ok && result.errors).toEqual([{ field, message: 'Expected 1 (grey) or 3 (RGB)' }]);
    }
    const model = { type: 'conv-autoencoder', inputShape: [28, 28, 0] };
    const result = parseRunSpec({ kind: 'pretrain', name: 'x', dataset: { name: 'mnist' }, model });
    expect(!result.ok && result.errors).toEqual([
      { field: 'model.inputShape.2', message: 'Expected 1 (grey) or 3 (RGB)' },
    ]);
  });
});

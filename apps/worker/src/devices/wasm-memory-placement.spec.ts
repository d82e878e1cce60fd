import { RunSpecSchema, storedTrainingMemory } from '@trainyard/contracts';
import { wasmMemoryPlacement } from './wasm-memory-placement';

/** A spec as a run stores it: RunSpecSchema's output, defaults applied. */
const spec = (batchSize: number) =>
  RunSpecSchema.parse({
    kind: 'pretrain',
    name: 'p',
    dataset: { name: 'synthetic-shapes', imageSize: 64, channels: 3, perClass: 10, testPerClass: 2 },
    model: { type: 'conv-autoencoder', inputShape: [64, 64, 3], filters: [32, 64], latentDim: 64 },
    training: { epochs: 1, batchSize, seed: 1 },
    resources: { accelerator: 'cpu' },
  });

describe('wasmMemoryPlacement: a run past what wasm holds, on a wasm worker', () => {
  const asked: unknown[] = [];
  const takers = (found: { id: string; backend: string }[]) => (placement: unknown) => {
    asked.push(placement);
    return Promise.resolve(found);
  };
  beforeEach(() => (asked.length = 0));

  it('leaves other backends, runs within the limit and specs it cannot read alone, without asking the fleet', async () => {
    expect(
      await wasmMemoryPlacement('r', spec(600), storedTrainingMemory(spec(600)), 4.71, 'tensorflow', takers([])),
    ).toBeNull();
    expect(
      await wasmMemoryPlacement('r', spec(600), storedTrainingMemory(spec(600)), 4.71, undefined, takers([])),
    ).toBeNull();
    expect(
      await wasmMemoryPlacement('r', spec(256), storedTrainingMemory(spec(256)), 2.03, 'wasm', takers([])),
    ).toBeNull();
    expect(
      await wasmMemoryPlacement(
        'r',
        { kind: 'nonsense' },
        storedTrainingMemory({ kind: 'nonsense' }),
        undefined,
        'wasm',
        takers([]),
      ),
    ).toBeNull();
    expect(asked).toEqual([]);
  });

  it('gives it back while another backend takes its class (placed by its memory), trains it here otherwise', async () => {
    const back = await wasmMemoryPlacement(
      'r',
      spec(600),
      storedTrainingMemory(spec(600)),
      4.71,
      'wasm',
      takers([{ id: 'w2', backend: 'tensorflow' }]),
    );
    expect(asked).toEqual([expect.objectContaining({ resources: { accelerator: 'cpu', memoryGb: 4.71 } })]);
    expect(back).toEqual({
      giveBack: true,
      line: 'run r: a training step on a batch of 600 needs about 4.71 GiB (estimated from its layers), more than the 4 GiB the wasm backend this worker trains on can hold; given back for worker w2 (tensorflow), which serves resource class "cpu"',
    });
    const here = await wasmMemoryPlacement('r', spec(600), storedTrainingMemory(spec(600)), 4.71, 'wasm', takers([]));
    expect(here).toEqual({
      giveBack: false,
      line: expect.stringMatching(
        /, and no live worker of another backend serves resource class "cpu": trained here, where its first step is expected to fail naming training\.batchSize$/,
      ),
    });
  });
});

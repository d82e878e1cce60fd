import { InvalidTrainingInputError } from './invalid-training-input.error';
import { wasmStepFailure } from './wasm-step-failure';

const WasmTrap = (globalThis as unknown as { WebAssembly: { RuntimeError: new (message: string) => Error } })
  .WebAssembly.RuntimeError;

describe('wasmStepFailure: a step out of the wasm backend’s memory, as the user can act on it', () => {
  const trap = new WasmTrap('memory access out of bounds');

  it('names training.batchSize, the batch, the trap and the 4 GiB, for good on the run’s first step', () => {
    const failure = wasmStepFailure(trap, { backend: 'wasm', batch: 512, firstOfRun: true });
    expect(failure).toBeInstanceOf(InvalidTrainingInputError);
    expect(failure!.message).toBe(
      "training.batchSize: a training step on a batch of 512 failed in the wasm backend (memory access out of bounds), as one that needs more memory than the 4 GiB it can hold does: lower training.batchSize (or the image or model size), or train on a GPU worker (resources.accelerator: 'gpu')",
    );
  });

  it('leaves a later step’s trap retryable (a fresh process has an unfragmented heap), with the same advice', () => {
    const failure = wasmStepFailure(trap, { backend: 'wasm', batch: 64, firstOfRun: false });
    expect(failure).not.toBeInstanceOf(InvalidTrainingInputError);
    expect(failure!.message).toMatch(/^training\.batchSize: a training step on a batch of 64 failed/);
  });

  it('says nothing of other errors, or of traps on other backends', () => {
    expect(
      wasmStepFailure(new Error('memory access out of bounds'), { backend: 'wasm', batch: 8, firstOfRun: true }),
    ).toBeNull();
    expect(wasmStepFailure(trap, { backend: 'tensorflow', batch: 8, firstOfRun: true })).toBeNull();
    expect(wasmStepFailure('a string', { backend: 'wasm', batch: 8, firstOfRun: true })).toBeNull();
  });
});

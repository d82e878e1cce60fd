import { InvalidTrainingInputError } from './invalid-training-input.error';

/** What TensorFlow.js's wasm backend can hold: every tensor lives in one wasm32 memory, at most 4 GiB. */
export const WASM_MEMORY_GIB = 4;

/** `WebAssembly.RuntimeError`, a trap (the WebAssembly namespace is not in this project's type libraries). */
const WasmTrap = (globalThis as { WebAssembly?: { RuntimeError: new (message?: string) => Error } }).WebAssembly
  ?.RuntimeError;

/**
 * A training step's failure on the wasm backend, as the user can act on it; null for any other
 * error or backend. A step that needs more than wasm's 4 GiB does not throw "out of memory": an
 * allocation fails and the kernel then traps with a WebAssembly.RuntimeError ("memory access out
 * of bounds", or "null function or function signature mismatch" for one tensor larger than what is
 * left; a 64×64×3 autoencoder with filters [32, 64] traps so at batch 512 and trains at 256). A
 * trap on the first step a run ever takes comes back on every attempt (the same batch, the same
 * model): InvalidTrainingInputError, not retried. A later one may come from a heap a long attempt
 * fragmented, which a fresh process does not have: a plain Error, retried, with the same advice.
 */
export function wasmStepFailure(
  error: unknown,
  step: { backend: string; batch: number; firstOfRun: boolean },
): Error | null {
  if (step.backend !== 'wasm' || !WasmTrap || !(error instanceof WasmTrap)) return null;
  const message = `training.batchSize: a training step on a batch of ${step.batch} failed in the wasm backend (${error.message}), as one that needs more memory than the ${WASM_MEMORY_GIB} GiB it can hold does: lower training.batchSize (or the image or model size), or train on a GPU worker (resources.accelerator: 'gpu')`;
  return step.firstOfRun ? new InvalidTrainingInputError(message) : new Error(message);
}

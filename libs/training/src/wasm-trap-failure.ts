import * as tf from '@tensorflow/tfjs';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/** What TensorFlow.js's wasm backend can hold: every tensor lives in one wasm32 memory, at most 4 GiB. */
export const WASM_MEMORY_GIB = 4;

/** `WebAssembly.RuntimeError`, a trap (the WebAssembly namespace is not in this project's type libraries). */
const WasmTrap = (globalThis as { WebAssembly?: { RuntimeError: new (message?: string) => Error } }).WebAssembly
  ?.RuntimeError;

/** The work of a run that runs on batches the training batch size bounds (evaluation.ts, evaluationBatch). */
export type TrainingPass = 'step' | 'validation' | 'test';

const PASS_WORDS: Record<TrainingPass, (batch: number) => string> = {
  step: (batch) => `a training step on a batch of ${batch}`,
  validation: (batch) => `the validation pass on batches of ${batch}`,
  test: (batch) => `the test evaluation on batches of ${batch}`,
};

/** Where a pass ran: the backend, its batch, and whether no training step of the run had succeeded before. */
export interface PassAt {
  backend: string;
  pass: TrainingPass;
  batch: number;
  firstOfRun: boolean;
}

/**
 * A pass's failure on the wasm backend, as the user can act on it; null for any other error or
 * backend. A pass that needs more than wasm's 4 GiB does not throw "out of memory": an allocation
 * fails and the kernel then traps with a WebAssembly.RuntimeError ("memory access out of bounds",
 * or "null function or function signature mismatch" for one tensor larger than what is left; a
 * 64×64×3 autoencoder with filters [32, 64] traps so at batch 512 and trains at 256). Every pass's
 * batch is bounded by training.batchSize, so lowering it is the advice whatever the pass. A trap
 * before any training step of the run succeeded comes back on every attempt (the same batch, the
 * same model): InvalidTrainingInputError, not retried. A later one may come from a heap a long
 * attempt fragmented, which a fresh process does not have: a plain Error, retried, with the same
 * advice (a retry resumes from the last checkpoint; after the final one it only evaluates).
 */
export function wasmTrapFailure(error: unknown, at: PassAt): Error | null {
  if (at.backend !== 'wasm' || !WasmTrap || !(error instanceof WasmTrap)) return null;
  const message = `training.batchSize: ${PASS_WORDS[at.pass](at.batch)} failed in the wasm backend (${error.message}), as one that needs more memory than the ${WASM_MEMORY_GIB} GiB it can hold does: lower training.batchSize (or the image or model size), or train on a GPU worker (resources.accelerator: 'gpu')`;
  return at.firstOfRun ? new InvalidTrainingInputError(message) : new Error(message);
}

/** Runs `pass`, a wasm trap in it rethrown as wasmTrapFailure words it (on the backend in use). */
export async function namingWasmTraps<T>(at: Omit<PassAt, 'backend'>, pass: () => Promise<T>): Promise<T> {
  try {
    return await pass();
  } catch (error) {
    throw wasmTrapFailure(error, { ...at, backend: tf.getBackend() }) ?? error;
  }
}

import * as tf from '@tensorflow/tfjs';
// What the wasm backend can hold lives in the contracts: the API refuses a batch past it at submit.
import { WASM_MEMORY_GIB } from '@trainyard/contracts';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/** `WebAssembly.RuntimeError`, a trap (the WebAssembly namespace is not in this project's type libraries). */
const WasmTrap = (globalThis as { WebAssembly?: { RuntimeError: new (message?: string) => Error } }).WebAssembly
  ?.RuntimeError;

/**
 * The work of a run that runs on batches: a training run's step, validation pass and test (the
 * training batch size bounds each: evaluationBatch), an evaluation run's one pass (its own `batchSize`).
 */
export type TrainingPass = 'step' | 'validation' | 'test' | 'evaluation';

const PASS_WORDS: Record<TrainingPass, (batch: number) => string> = {
  step: (batch) => `a training step on a batch of ${batch}`,
  validation: (batch) => `the validation pass on batches of ${batch}`,
  test: (batch) => `the test evaluation on batches of ${batch}`,
  evaluation: (batch) => `the evaluation on batches of ${batch}`,
};

/** The spec field that sets a pass's batch: an evaluation run's own `batchSize`, else the training's. */
const batchField = (pass: TrainingPass) => (pass === 'evaluation' ? 'batchSize' : 'training.batchSize');

/** Where a pass ran: the backend, its batch, and whether no training step of the run had succeeded before. */
export interface PassAt {
  backend: string;
  pass: TrainingPass;
  batch: number;
  firstOfRun: boolean;
}

/** A one-line excerpt of what the backend said: TensorFlow adds hints and node dumps on further lines. */
function firstLine(message: string): string {
  const line = message.split('\n', 1)[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/**
 * TensorFlow's own "out of memory" (tfjs-node and tfjs-node-gpu, the `tensorflow` backend): an
 * allocation fails and the op throws ResourceExhausted, "OOM when allocating tensor with
 * shape[256,32,224,224] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by
 * allocator GPU_0_bfc" (device:CPU:0 on a CPU worker). Null for any other error.
 */
function tensorflowOutOfMemory(error: unknown): { device: 'GPU' | 'CPU'; said: string } | null {
  if (!(error instanceof Error) || !/OOM when allocating|Resource exhausted/i.test(error.message)) return null;
  return { device: /device:GPU/i.test(error.message) ? 'GPU' : 'CPU', said: firstLine(error.message) };
}

/**
 * A pass that ran out of its backend's memory, as the user can act on it; null for any other
 * error. Every pass's batch is bounded by training.batchSize (evaluationBatch), so lowering it is
 * the advice whatever the pass.
 * - The wasm backend does not throw "out of memory": past its 4 GiB an allocation fails and the
 *   kernel then traps with a WebAssembly.RuntimeError ("memory access out of bounds", or "null
 *   function or function signature mismatch" for one tensor larger than what is left; a 64×64×3
 *   autoencoder with filters [32, 64] traps so at batch 512 and trains at 256).
 * - TensorFlow (the `tensorflow` backend, on a GPU or a CPU) throws ResourceExhausted (see
 *   tensorflowOutOfMemory). Each attempt's process has its GPU to itself (one process a GPU,
 *   CUDA_VISIBLE_DEVICES), so the same batch fails the same way on the next one. (A CUDA abort
 *   that kills the process instead is a crash, retried like any.)
 * A failure before any training step of the run succeeded comes back on every attempt (the same
 * batch, the same model, the same device): InvalidTrainingInputError, not retried. A later one may
 * come from a heap a long attempt fragmented, which a fresh process does not have: a plain Error,
 * retried, with the same advice (a retry resumes from the last checkpoint; after the final one it
 * only evaluates).
 */
export function memoryFailure(error: unknown, at: PassAt): Error | null {
  const field = batchField(at.pass);
  let message: string;
  if (at.backend === 'wasm' && isWasmTrap(error)) {
    message = `${field}: ${PASS_WORDS[at.pass](at.batch)} failed in the wasm backend (${error.message}), as one that needs more memory than the ${WASM_MEMORY_GIB} GiB it can hold does: lower ${field} (or the image or model size), or train on a GPU worker (resources.accelerator: 'gpu')`;
  } else {
    const oom = at.backend === 'tensorflow' ? tensorflowOutOfMemory(error) : null;
    if (!oom) return null;
    const elsewhere =
      oom.device === 'GPU'
        ? ', or ask for a GPU with more memory (resources.memoryGb)'
        : ', or give the worker more memory (resources.memoryGb)';
    message = `${field}: ${PASS_WORDS[at.pass](at.batch)} ran out of ${oom.device} memory (${oom.said}): lower ${field} (or the image or model size)${elsewhere}`;
  }
  return at.firstOfRun ? new InvalidTrainingInputError(message) : new Error(message);
}

/**
 * The last pass of this process's job that ran out of memory, as memoryFailure worded it. A wasm
 * trap leaves the instance's heap unusable: the cleanup the failure unwinds through (disposing the
 * batch, the optimizer, the model, the variables) may trap again, and that bare trap would replace
 * the worded failure (measured: the own layers-autoencoder 64×64×3 at batch 520, docs/training.md).
 */
let failedPass: Error | undefined;

/** A new job in this process (runTrainingJob): an earlier job's failed pass says nothing of this one's traps. */
export function forgetMemoryFailures(): void {
  failedPass = undefined;
}

/** Runs `pass`, an out-of-memory failure in it rethrown as memoryFailure words it (on the backend in use). */
export async function namingMemoryFailures<T>(at: Omit<PassAt, 'backend'>, pass: () => Promise<T>): Promise<T> {
  try {
    return await pass();
  } catch (error) {
    const worded = memoryFailure(error, { ...at, backend: tf.getBackend() });
    if (worded) failedPass = worded;
    throw worded ?? error;
  }
}

export function isWasmTrap(error: unknown): error is Error {
  return WasmTrap !== undefined && error instanceof WasmTrap;
}

/**
 * What a job that failed with `error` reports: a wasm trap after a pass ran out of memory is that
 * pass's worded failure (for good or retried as it was); a trap outside every pass on the wasm
 * backend (writing a checkpoint, loading the data; making a training batch is the step's, an
 * evaluation's batch its prediction's) is most likely memory too, and said so, retried
 * (whether a step of the run had trained is not known there); anything else is left as it is.
 */
export function failureBehindTrap(error: unknown): unknown {
  if (!isWasmTrap(error)) return error;
  if (failedPass) return failedPass;
  if (!onWasm()) return error;
  return new Error(
    `training.batchSize: the training failed in the wasm backend (${error.message}) outside the passes that name their batch, most likely as one that needs more memory than the ${WASM_MEMORY_GIB} GiB it can hold does: lower training.batchSize (an evaluation run's batchSize), or the image or model size, or train on a GPU worker (resources.accelerator: 'gpu')`,
  );
}

/** Whether this process trains on wasm; false before a backend is set (reading it then would pick one). */
function onWasm(): boolean {
  try {
    return tf.getBackend() === 'wasm';
  } catch {
    return false;
  }
}

import * as tf from '@tensorflow/tfjs';
import { initEngine } from '@trainyard/engine';
import { testBestAndLast } from './checkpoint-selection';
import { runEpochLoop, type EpochLoopConfig } from './epoch-loop';
import { evaluateLoss, evaluationBatch } from './evaluate';
import { predictedScores } from './evaluate-run';
import { InvalidTrainingInputError } from './invalid-training-input.error';
import { recordingHooks } from './recording-hooks.testing';
import { forgetMemoryFailures, memoryFailure } from './memory-failure';
import { trainingFailure } from './run-training-job';

/** The WebAssembly namespace (not in this project's type libraries). */
const WebAssembly = (
  globalThis as unknown as {
    WebAssembly: {
      RuntimeError: new (message: string) => Error;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;
const WasmTrap = WebAssembly.RuntimeError;
const trap = () => new WasmTrap('memory access out of bounds');

/**
 * A real trap: wasm code reading past the end of its one page of memory, as a kernel reading
 * past the 4 GiB does ("memory access out of bounds"). The tfjs wasm backend itself does not trap
 * making a batch on demand: past its memory its malloc returns 0 and the batch is written over
 * the heap's start, and what traps then depends on what lay there.
 * (module (memory 1) (func (export "load") (drop (i32.load (i32.const 65536)))))
 */
const readPastMemory = new WebAssembly.Instance(
  new WebAssembly.Module(
    Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version
      ...[0x01, 0x04, 0x01, 0x60, 0x00, 0x00], // one type: () -> ()
      ...[0x03, 0x02, 0x01, 0x00], // one function of it
      ...[0x05, 0x03, 0x01, 0x00, 0x01], // one memory of one page (64 KiB)
      ...[0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00], // exported as "load"
      ...[0x0a, 0x0c, 0x01, 0x0a, 0x00, 0x41, 0x80, 0x80, 0x04, 0x28, 0x02, 0x00, 0x1a, 0x0b], // i32.load at 65536
    ]),
  ),
).exports['load'] as () => void;
/** What run r1's job reports when `failure` fails it for good (trainingFailure). */
const failedForGood = (failure: Error) => ({
  status: 'failed',
  retryable: false,
  reason: `run r1: ${failure.message}`,
});
const ADVICE =
  "as one that needs more memory than the 4 GiB it can hold does: lower training.batchSize (or the image or model size), or train on a GPU worker (resources.accelerator: 'gpu')";

describe('memoryFailure: a pass out of the wasm backend’s memory, as the user can act on it', () => {
  it('names training.batchSize, the batch, the trap and the 4 GiB, for good on the run’s first step', () => {
    const failure = memoryFailure(trap(), { backend: 'wasm', pass: 'step', batch: 512, firstOfRun: true });
    expect(failure).toBeInstanceOf(InvalidTrainingInputError);
    expect(failure!.message).toBe(
      `training.batchSize: a training step on a batch of 512 failed in the wasm backend (memory access out of bounds), ${ADVICE}`,
    );
  });

  it('leaves a later step’s trap retryable (a fresh process has an unfragmented heap), with the same advice', () => {
    const failure = memoryFailure(trap(), { backend: 'wasm', pass: 'step', batch: 64, firstOfRun: false });
    expect(failure).not.toBeInstanceOf(InvalidTrainingInputError);
    expect(failure!.message).toMatch(/^training\.batchSize: a training step on a batch of 64 failed/);
  });

  it.each([
    ['validation', 'the validation pass on batches of 256'],
    ['test', 'the test evaluation on batches of 256'],
  ] as const)('names the %s pass and its batch, under the same rule for retries', (pass, words) => {
    const later = memoryFailure(trap(), { backend: 'wasm', pass, batch: 256, firstOfRun: false });
    expect(later).not.toBeInstanceOf(InvalidTrainingInputError);
    expect(later!.message).toBe(
      `training.batchSize: ${words} failed in the wasm backend (memory access out of bounds), ${ADVICE}`,
    );
    const first = memoryFailure(trap(), { backend: 'wasm', pass, batch: 256, firstOfRun: true });
    expect(first).toBeInstanceOf(InvalidTrainingInputError);
    expect(first!.message).toBe(later!.message);
  });

  it('says nothing of other errors, or of traps on other backends', () => {
    const at = { backend: 'wasm', pass: 'validation', batch: 8, firstOfRun: true } as const;
    expect(memoryFailure(new Error('memory access out of bounds'), at)).toBeNull();
    expect(memoryFailure(trap(), { ...at, backend: 'tensorflow' })).toBeNull();
    expect(memoryFailure('a string', at)).toBeNull();
  });
});

describe('memoryFailure: a pass out of TensorFlow’s memory (tfjs-node, tfjs-node-gpu), as the user can act on it', () => {
  const oom = (device: string) =>
    new Error(
      `OOM when allocating tensor with shape[256,32,224,224] and type float on /job:localhost/replica:0/task:0/device:${device}:0 by allocator GPU_0_bfc\n\t [[{{node conv2d/Conv2D}}]]\nHint: If you want to see a list of allocated tensors when OOM happens, add report_tensor_allocations_upon_oom to RunOptions`,
    );

  it('names training.batchSize, the pass, what TensorFlow said (its first line) and the GPU, for good on the run’s first step', () => {
    const failure = memoryFailure(oom('GPU'), { backend: 'tensorflow', pass: 'step', batch: 256, firstOfRun: true });
    expect(failure).toBeInstanceOf(InvalidTrainingInputError);
    expect(failure!.message).toBe(
      'training.batchSize: a training step on a batch of 256 ran out of GPU memory (OOM when allocating tensor with shape[256,32,224,224] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc): lower training.batchSize (or the image or model size), or ask for a GPU with more memory (resources.memoryGb)',
    );
  });

  it('leaves a later pass’s retryable, and says CPU memory on a CPU device', () => {
    const later = memoryFailure(new Error('Resource exhausted: OOM when allocating tensor on /device:CPU:0'), {
      backend: 'tensorflow',
      pass: 'validation',
      batch: 64,
      firstOfRun: false,
    });
    expect(later).not.toBeInstanceOf(InvalidTrainingInputError);
    expect(later!.message).toMatch(
      /^training\.batchSize: the validation pass on batches of 64 ran out of CPU memory \(Resource exhausted: .*\): .*give the worker more memory \(resources\.memoryGb\)$/,
    );
  });

  it("names an evaluation run's own batchSize, not the training's", () => {
    const failure = memoryFailure(oom('GPU'), {
      backend: 'tensorflow',
      pass: 'evaluation',
      batch: 512,
      firstOfRun: true,
    });
    expect(failure).toBeInstanceOf(InvalidTrainingInputError);
    expect(failure!.message).toMatch(
      /^batchSize: the evaluation on batches of 512 ran out of GPU memory \(OOM when allocating .*\): lower batchSize \(or the image or model size\)/,
    );
    const trapped = memoryFailure(trap(), { backend: 'wasm', pass: 'evaluation', batch: 512, firstOfRun: true });
    expect(trapped!.message).toMatch(
      /^batchSize: the evaluation on batches of 512 failed in the wasm backend .*: lower batchSize /,
    );
  });

  it('says nothing of other TensorFlow errors, or of such words on another backend', () => {
    const at = { backend: 'tensorflow', pass: 'step', batch: 8, firstOfRun: true } as const;
    expect(memoryFailure(new Error('Invalid argument: Incompatible shapes: [8,10] vs. [8,4]'), at)).toBeNull();
    expect(memoryFailure(oom('GPU'), { ...at, backend: 'wasm' })).toBeNull();
    expect(memoryFailure(oom('GPU'), { ...at, backend: 'cpu' })).toBeNull();
  });
});

/** Where the training loop and the test meet a trap (on the wasm backend, as a CPU worker runs). */
describe('a wasm trap in each pass of a run', () => {
  beforeAll(async () => {
    await initEngine({ backend: 'wasm' });
  });

  const shape: [number, number, number] = [2, 2, 1];
  const images = (count: number) => ({
    images: Float32Array.from({ length: count * 4 }, (_, i) => (i % 7) / 7),
    labels: new Int32Array(count),
    count,
  });
  const tinyModel = () => {
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: shape }), tf.layers.dense({ units: 1 })] });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    return model;
  };
  const loopConfig = (model: tf.LayersModel, overrides: Partial<EpochLoopConfig> = {}): EpochLoopConfig => ({
    model,
    metricNames: ['loss'],
    train: images(6),
    imageShape: shape,
    plan: { stepsPerEpoch: 2, epochs: 2, totalSteps: 4 },
    batchSize: 3,
    seed: 1,
    learningRate: () => 0.1,
    targets: (_x, labels) => tf.ones([labels.length, 1]),
    validate: () => Promise.resolve({}),
    checkpointEveryEpochs: 1,
    checkpoint: () => Promise.resolve(1),
    hooks: recordingHooks(),
    progressIntervalMs: 0,
    ...overrides,
  });

  it('fails a run whose first step traps for good, naming the step', async () => {
    const model = tinyModel();
    model.trainOnBatch = () => Promise.reject(trap());
    const failure = await runEpochLoop(loopConfig(model)).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(InvalidTrainingInputError);
    expect((failure as Error).message).toMatch(/^training\.batchSize: a training step on a batch of 3 failed/);
    model.dispose();
  });

  // Making a batch (its images, its targets) is the step's: a trap there was worded as "outside the
  // passes that name their batch" and retried, on the first step too.
  it('fails a run whose first batch traps while it is made for good, naming the step, and frees the batch', async () => {
    forgetMemoryFailures();
    const model = tinyModel();
    const trained: number[] = [];
    const fit = model.trainOnBatch.bind(model);
    model.trainOnBatch = (x, y) => {
      trained.push((x as tf.Tensor).shape[0]!);
      return fit(x, y);
    };
    const tensors = tf.memory().numTensors;
    const targets = () => {
      readPastMemory();
      return tf.ones([3, 1]);
    };
    const failure = (await runEpochLoop(loopConfig(model, { targets })).catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(InvalidTrainingInputError);
    expect(failure.message).toBe(
      `training.batchSize: a training step on a batch of 3 failed in the wasm backend (memory access out of bounds), ${ADVICE}`,
    );
    expect(trained).toEqual([]);
    expect(tf.memory().numTensors).toBe(tensors);
    // The run fails with it, for good.
    expect(trainingFailure('r1', failure)).toEqual(failedForGood(failure));
    model.dispose();
  });

  it('retries a run whose batch traps while it is made after a step trained, with the same words', async () => {
    forgetMemoryFailures();
    const model = tinyModel();
    let made = 0;
    const targets = (_x: tf.Tensor4D, labels: Int32Array) => {
      if (++made === 2) readPastMemory();
      return tf.ones([labels.length, 1]);
    };
    const failure = (await runEpochLoop(loopConfig(model, { targets })).catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(InvalidTrainingInputError);
    expect(failure.message).toMatch(
      /^training\.batchSize: a training step on a batch of 3 failed in the wasm backend \(memory access out of bounds\)/,
    );
    expect(trainingFailure('r1', failure)).toMatchObject({ retryable: true, reason: `run r1: ${failure.message}` });
    model.dispose();
  });

  // Making an evaluation's batch (its images on the backend) is its prediction's: a trap there was
  // worded as "outside the passes that name their batch" and retried, though the same batch traps again.
  it('fails an evaluation whose batch traps while it is made for good, naming batchSize, and leaves no tensor', async () => {
    forgetMemoryFailures();
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: shape }), tf.layers.dense({ units: 2, activation: 'softmax' })],
    });
    const split = images(5);
    const slice = split.images.subarray.bind(split.images);
    let made = 0;
    split.images.subarray = (begin?: number, end?: number) => {
      if (++made === 2) readPastMemory();
      return slice(begin, end);
    };
    const tensors = tf.memory().numTensors;
    const predicted: number[] = [];
    const failure = (await predictedScores(model, split, shape, 3, 2, {
      shouldStop: () => false,
      predicted: (step) => predicted.push(step),
    }).catch((e: unknown) => e)) as Error;
    expect(failure).toBeInstanceOf(InvalidTrainingInputError);
    expect(failure.message).toBe(
      "batchSize: the evaluation on batches of 3 failed in the wasm backend (memory access out of bounds), as one that needs more memory than the 4 GiB it can hold does: lower batchSize (or the image or model size), or train on a GPU worker (resources.accelerator: 'gpu')",
    );
    expect(predicted).toEqual([0]);
    expect(tf.memory().numTensors).toBe(tensors);
    // The evaluation run fails with it, for good.
    expect(trainingFailure('r1', failure)).toEqual(failedForGood(failure));
    model.dispose();
  });

  it('keeps the retry of a validation pass that traps after steps trained, naming the pass and its batch', async () => {
    const model = tinyModel();
    const config = loopConfig(model, { validate: () => Promise.reject(trap()) });
    const failure = await runEpochLoop(config).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(InvalidTrainingInputError);
    expect((failure as Error).message).toMatch(
      /^training\.batchSize: the validation pass on batches of 3 failed in the wasm backend \(memory access out of bounds\)/,
    );
    model.dispose();
  });

  it('names the test evaluation and its batch; retried after steps trained, for good when none did', async () => {
    const loop = {
      status: 'completed' as const,
      tracking: { best: null, earlyStopping: null, plateau: null, stoppedEarly: null },
      last: { epoch: 4, step: 19, sequence: 2, validation: null },
    };
    const saved = { model: 'net', test: () => Promise.reject(trap()), batch: 64 };
    const model = tinyModel();
    const tested = (last: typeof loop.last) =>
      testBestAndLast({ ...loop, last }, { metric: 'val_loss', goal: 'min' }, recordingHooks(), saved, model).catch(
        (e: unknown) => e,
      );
    const later = await tested(loop.last);
    expect(later).not.toBeInstanceOf(InvalidTrainingInputError);
    expect((later as Error).message).toMatch(/^training\.batchSize: the test evaluation on batches of 64 failed/);
    expect(await tested({ ...loop.last, step: -1 })).toBeInstanceOf(InvalidTrainingInputError);
    // Any other failure of a pass is left as it was.
    const other = new Error('disk full');
    await expect(
      testBestAndLast(
        loop,
        { metric: 'val_loss', goal: 'min' },
        recordingHooks(),
        {
          ...saved,
          test: () => Promise.reject(other),
        },
        model,
      ),
    ).rejects.toBe(other);
    model.dispose();
  });

  // Measured (the own layers-autoencoder 64×64×3 at batch 520, tools/memory/calibrate-wasm.ts): the
  // step traps, then disposing its batch traps again on the heap the first trap left, and that bare
  // trap unwound the run in place of the worded one, retried (wasm-memory.int-spec.ts, for real).
  it('reports the step that trapped, not the trap the cleanup after it then hits', async () => {
    forgetMemoryFailures();
    const model = tinyModel();
    model.trainOnBatch = () => Promise.reject(trap());
    const worded = (await runEpochLoop(loopConfig(model)).catch((e: unknown) => e)) as Error;
    expect(worded).toBeInstanceOf(InvalidTrainingInputError);
    // What the unwinding met next (the batch's dispose, the model's, the variables'): a bare trap.
    expect(trainingFailure('r1', trap())).toEqual(failedForGood(worded));
    // Another job in the same process starts with nothing behind its traps.
    forgetMemoryFailures();
    expect(trainingFailure('r1', trap())).toMatchObject({ reason: expect.not.stringContaining('a training step') });
    model.dispose();
  });

  it('words a trap outside every pass on wasm as memory too, retryable (whether a step trained is not known there)', () => {
    forgetMemoryFailures();
    expect(trainingFailure('r1', trap())).toEqual({
      status: 'failed',
      retryable: true,
      reason: `run r1: training.batchSize: the training failed in the wasm backend (memory access out of bounds) outside the passes that name their batch, most likely as one that needs more memory than the 4 GiB it can hold does: lower training.batchSize (an evaluation run's batchSize), or the image or model size, or train on a GPU worker (resources.accelerator: 'gpu')`,
    });
    // Not a trap: as it was.
    expect(trainingFailure('r1', new Error('socket hang up'))).toMatchObject({ reason: 'run r1: socket hang up' });
  });

  it('runs a pass on batches of at most training.batchSize, with the mean a single pass gives', async () => {
    expect([evaluationBatch(8), evaluationBatch(256), evaluationBatch(1024)]).toEqual([8, 256, 256]);
    const model = tinyModel();
    const split = images(7);
    const targets = (_x: tf.Tensor4D, labels: Int32Array) => tf.ones([labels.length, 1]);
    const batches: number[] = [];
    const evaluate = model.evaluate.bind(model);
    const whole = await evaluateLoss(model, split, shape, targets);
    model.evaluate = (x, y, args) => {
      batches.push((x as tf.Tensor).shape[0]!);
      return evaluate(x, y, args);
    };
    const inThrees = await evaluateLoss(model, split, shape, targets, 3);
    expect(batches).toEqual([3, 3, 1]);
    expect(inThrees[0]).toBeCloseTo(whole[0]!, 6);
    model.dispose();
  });
});

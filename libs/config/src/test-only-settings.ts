/**
 * Switches that exist only so tests can reach what CI cannot produce for real: a GPU, a training
 * process that hangs. Each is read from the environment, and only while NODE_ENV is 'test' (Jest
 * sets it; the images set 'production'); never from a run spec, so no API user can turn one on.
 */
export const TEST_ONLY_SETTINGS = {
  /** `1`: `@tensorflow/tfjs-node-gpu` resolves to the engine's fake (fake-tfjs-node-gpu.testing.ts). */
  fakeTfjsNodeGpu: 'TRAINYARD_TEST_FAKE_TFJS_NODE_GPU',
  /**
   * Bytes: the fake's GPU refuses any op whose output is larger, with TensorFlow's own
   * ResourceExhausted message ("OOM when allocating tensor with shape[…] … device:GPU:0").
   */
  fakeGpuMemoryBytes: 'TRAINYARD_TEST_FAKE_GPU_MEMORY_BYTES',
  /** A file path: the first training process to create that file stops answering at its first metrics event. */
  childHangOnce: 'TRAINYARD_TEST_CHILD_HANG_ONCE',
  /**
   * `1`: the worker gives every attempt to a stand-in that trains nothing and succeeds at once, in
   * place of a training process, so `bench:dispatch` measures what orchestration alone sustains.
   */
  noTrainingProcess: 'TRAINYARD_TEST_NO_TRAINING_PROCESS',
} as const;

export type TestOnlySetting = keyof typeof TEST_ONLY_SETTINGS;

/** The setting's value under NODE_ENV=test; undefined otherwise, whatever the environment says. */
export function testOnlySetting(name: TestOnlySetting, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['NODE_ENV'] !== 'test') return undefined;
  return env[TEST_ONLY_SETTINGS[name]] || undefined;
}

// Entry point of an attempt's training process (compiled to training.child.js, forked by
// startTrainingProcess). It wires the supervisor's IPC and control pipe to runTrainingJob.
import { closeSync, openSync } from 'node:fs';
import { TEST_ONLY_SETTINGS, testOnlySetting } from '@trainyard/config';
import type { BackendName } from '@trainyard/engine';
import { CANCEL_FLAG, FLAG_COUNT, PAUSE_FLAG, PREEMPT_FLAG } from './child-messages';
import { PRESTART_BACKEND_ENV } from './prestart';
import { runChild, startControlThread } from './child-runtime';
import type { ProgressLine } from './progress-lines';
import type { TrainingEvent, TrainingOutcome } from './training-job.types';

// Set by the control thread, read between two batches with no event-loop turn in between.
const flags = new Int32Array(new SharedArrayBuffer(FLAG_COUNT * Int32Array.BYTES_PER_ELEMENT));
startControlThread(flags);

/** TensorFlow.js and the training code; loaded after 'ready', as they take a while. */
const load = () => Promise.all([import('./run-training-job'), import('./progress-lines')]);

/**
 * A process started ahead of its attempt (prestartTrainingProcess) loads them, and initialises
 * its backend, right away; whatever fails here fails again, and is reported, in the attempt.
 */
const prestartBackend = process.env[PRESTART_BACKEND_ENV];
const prestarted = prestartBackend ? prestart(prestartBackend) : undefined;

async function prestart(backend: string): Promise<void> {
  try {
    await load();
    const { initEngine } = await import('@trainyard/engine');
    const engine = await initEngine(backend === 'auto' ? {} : { backend: backend as BackendName });
    process.stdout.write(`prestarted: ${engine.backend} backend loaded (${engine.detail}); waiting for an attempt\n`);
  } catch (error) {
    process.stderr.write(`prestart: could not load the ${backend} backend yet: ${(error as Error).message}\n`);
  }
}

runChild({ onStopSignal: () => Atomics.store(flags, PREEMPT_FLAG, 1) }, async (start, channel) => {
  if (start.kind !== 'train') throw new Error(`training.child.js was sent '${start.kind}'`);
  await prestarted;
  const [{ runTrainingJob }, { ProgressLines }] = await load();

  // What a person reads in the run's log: the supervisor captures this process's stdout and stderr.
  const lines = new ProgressLines();
  const written: Record<ProgressLine['stream'], Promise<void>> = {
    stdout: Promise.resolve(),
    stderr: Promise.resolve(),
  };
  const print = (line: ProgressLine | undefined) => {
    if (line)
      written[line.stream] = new Promise((resolve) => process[line.stream].write(`${line.text}\n`, () => resolve()));
  };
  const post = (event: TrainingEvent) => {
    print(lines.describe(event));
    void channel.send({ kind: 'event', event });
    if (event.type === 'metrics') hangIfAsked();
  };

  let outcome: TrainingOutcome;
  try {
    outcome = await runTrainingJob(
      start.input,
      post,
      () => {
        channel.beat();
        waitWhilePaused(start.heartbeatMs, () => channel.beat());
        return Atomics.load(flags, CANCEL_FLAG) === 1;
      },
      () => Atomics.load(flags, PREEMPT_FLAG) === 1,
    );
    if (outcome.status === 'failed') print({ stream: 'stderr', text: `training failed: ${outcome.reason}` });
  } catch (error) {
    // runTrainingJob reports its failures as outcomes; this is a bug's way out, kept retryable.
    print({
      stream: 'stderr',
      text: `training failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    });
    outcome = { status: 'failed', reason: String(error), retryable: true };
  }
  // Every line is out before the outcome: the supervisor settles soon after it.
  await Promise.all([written.stdout, written.stderr]);
  await channel.send({ kind: 'outcome', outcome });
});

/**
 * Between two batches, while the supervisor asks it to (its backlog of events to write is long: see
 * EVENT_BACKLOG in start-training-process.ts), the training waits, still heartbeating, until it is
 * told to resume or asked to cancel or preempt (served at once, as ever).
 */
function waitWhilePaused(heartbeatMs: number, beat: () => void): void {
  while (
    Atomics.load(flags, PAUSE_FLAG) === 1 &&
    Atomics.load(flags, CANCEL_FLAG) === 0 &&
    Atomics.load(flags, PREEMPT_FLAG) === 0
  ) {
    Atomics.wait(flags, PAUSE_FLAG, 1, heartbeatMs);
    beat();
  }
}

/**
 * Test-only (TRAINYARD_TEST_CHILD_HANG_ONCE, honoured under NODE_ENV=test): the first training
 * process to create the named file blocks its main thread for good, as a deadlocked native call
 * would, so a test can watch the supervisor's deadline kill it. Later processes train normally.
 */
function hangIfAsked(): void {
  const file = testOnlySetting('childHangOnce');
  if (!file) return;
  try {
    closeSync(openSync(file, 'wx'));
  } catch {
    return;
  }
  process.stderr.write(`training process ${process.pid} hangs now (test-only ${TEST_ONLY_SETTINGS.childHangOnce})\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

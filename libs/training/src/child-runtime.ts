import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ChildMessage, StartMessage } from './child-messages';

/** What a supervised process's work (a training, the device probe) uses to talk to its supervisor. */
export interface ChildChannel {
  /** Sends a message (which counts as a heartbeat); resolves once it is handed to the OS. */
  send(message: ChildMessage): Promise<void>;
  /** Sends a heartbeat unless something was sent within heartbeatMs: cheap enough to call every batch. */
  beat(): void;
}

export interface ChildOptions {
  /**
   * SIGTERM or SIGINT reached this process: a Ctrl+C in a terminal signals the whole process
   * group, so the supervisor got it too and will act; the process never dies of it mid-checkpoint.
   */
  onStopSignal?: () => void;
}

/**
 * The side of superviseChild inside the child: says 'ready' before loading anything heavy,
 * waits for the start message, then heartbeats from its event loop (and from `beat`, which the
 * work calls where the event loop gets no turn). A supervisor that disconnects is gone: the
 * process ends at once rather than train for no one.
 */
export function runChild(
  options: ChildOptions,
  work: (start: StartMessage, channel: ChildChannel) => Promise<void>,
): void {
  const send = process.send?.bind(process);
  if (!send)
    throw new Error(
      `${process.argv[1]} runs only as a process started by the worker (startTrainingProcess, probeDevices)`,
    );
  const onStop = options.onStopSignal ?? (() => undefined);
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));

  let heartbeatMs = 1000;
  let sentAt = 0;
  const channel: ChildChannel = {
    send(message) {
      sentAt = Date.now();
      return new Promise((resolve) => {
        if (!process.connected) return resolve();
        send(message, undefined, undefined, () => resolve());
      });
    },
    beat() {
      if (Date.now() - sentAt >= heartbeatMs) void channel.send({ kind: 'heartbeat' });
    },
  };
  void channel.send({ kind: 'ready' });
  process.once('message', (start: StartMessage) => {
    heartbeatMs = start.heartbeatMs;
    // Ref'd on purpose: the IPC channel stops holding the process once the start message is read,
    // and a pending WebAssembly compile (the wasm backend's, in a prestarted process still loading
    // it) holds nothing either, so without this the process could run out of work and exit 0
    // mid-load. It ends by process.exit below.
    setInterval(() => channel.beat(), heartbeatMs);
    work(start, channel).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exit(1);
      },
    );
  });
}

/** Starts the thread that turns the supervisor's control pipe into `flags` (child-control.thread.ts). */
export function startControlThread(flags: Int32Array): void {
  new Worker(join(__dirname, 'child-control.thread.js'), { workerData: { flags }, name: 'control' }).unref();
}

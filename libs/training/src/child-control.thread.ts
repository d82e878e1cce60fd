// A thread inside a training process (started by child-runtime.ts; no TensorFlow.js here). It
// reads the supervisor's requests from the control pipe and sets the flags the training loop
// checks between batches: that loop leaves its event loop no turn, so it would never read them.
import { Socket } from 'node:net';
import { workerData } from 'node:worker_threads';
import { CANCEL_FLAG, CONTROL_BYTES, CONTROL_FD, PAUSE_FLAG, PREEMPT_FLAG } from './child-messages';

const flags = (workerData as { flags: Int32Array }).flags;
const SET_BY_BYTE = new Map<number, [flag: number, value: number]>([
  [CONTROL_BYTES.cancel, [CANCEL_FLAG, 1]],
  [CONTROL_BYTES.preempt, [PREEMPT_FLAG, 1]],
  [CONTROL_BYTES.pause, [PAUSE_FLAG, 1]],
  [CONTROL_BYTES.resume, [PAUSE_FLAG, 0]],
]);

const control = new Socket({ fd: CONTROL_FD, readable: true, writable: false });
control.on('data', (bytes: Buffer) => {
  for (const byte of bytes) {
    const set = SET_BY_BYTE.get(byte);
    if (set === undefined) continue;
    Atomics.store(flags, set[0], set[1]);
    // A training waiting on PAUSE_FLAG wakes for every request: a resume, or a cancel or preempt it must serve.
    Atomics.notify(flags, PAUSE_FLAG);
  }
});
// The supervisor is gone (killed, crashed): nobody would record what this process trains, and
// the job is already someone else's to retry. End now rather than train for no one.
const orphaned = () => process.kill(process.pid, 'SIGKILL');
control.once('end', orphaned);
control.once('error', orphaned);

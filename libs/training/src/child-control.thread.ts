// A thread inside a training process (started by child-runtime.ts; no TensorFlow.js here). It
// reads the supervisor's requests from the control pipe and sets the flags the training loop
// checks between batches: that loop leaves its event loop no turn, so it would never read them.
import { Socket } from 'node:net';
import { workerData } from 'node:worker_threads';
import { CANCEL_FLAG, CONTROL_BYTES, CONTROL_FD, PREEMPT_FLAG } from './child-messages';

const flags = (workerData as { flags: Int32Array }).flags;
const FLAG_OF_BYTE = new Map<number, number>([
  [CONTROL_BYTES.cancel, CANCEL_FLAG],
  [CONTROL_BYTES.preempt, PREEMPT_FLAG],
]);

const control = new Socket({ fd: CONTROL_FD, readable: true, writable: false });
control.on('data', (bytes: Buffer) => {
  for (const byte of bytes) {
    const flag = FLAG_OF_BYTE.get(byte);
    if (flag !== undefined) Atomics.store(flags, flag, 1);
  }
});
// The supervisor is gone (killed, crashed): nobody would record what this process trains, and
// the job is already someone else's to retry. End now rather than train for no one.
const orphaned = () => process.kill(process.pid, 'SIGKILL');
control.once('end', orphaned);
control.once('error', orphaned);

import type { DeviceReport } from './device-report';
import type { TrainingEvent, TrainingJobInput, TrainingOutcome } from './training-job.types';

/** What a supervised process (a training, the device probe) sends its supervisor over IPC. */
export type ChildMessage =
  /** Sent as soon as the process runs, before it loads anything heavy. */
  | { kind: 'ready' }
  /** "Still here": sent between batches and from the event loop, at most every heartbeatMs. */
  | { kind: 'heartbeat' }
  | { kind: 'event'; event: TrainingEvent }
  | { kind: 'outcome'; outcome: ReportedOutcome }
  | { kind: 'devices'; report: DeviceReport };

/** An outcome as the process reports it: `crash` is its supervisor's to add. */
export type ReportedOutcome =
  | Exclude<TrainingOutcome, { status: 'failed' }>
  | { status: 'failed'; reason: string; retryable: boolean; storeUnavailable?: boolean };

/** What the supervisor sends over IPC, once, after 'ready'. */
export type StartMessage =
  | { kind: 'train'; input: TrainingJobInput; heartbeatMs: number }
  | { kind: 'probe'; backend: TrainingJobInput['backend']; heartbeatMs: number };

/**
 * The training's event loop is busy between two batches (only promise jobs run there), so it would
 * read an IPC message only once training ends. Cancel and preempt go over a pipe of their own,
 * read by a small thread in the child that sets the flags the loop checks between batches.
 */
export const CONTROL_FD = 4;
/** Indexes into the Int32Array the control thread shares with the training: 1 means requested. */
export const CANCEL_FLAG = 0;
export const PREEMPT_FLAG = 1;
/** 1 while the supervisor asks the training to wait between batches: its events' writes are behind (see EVENT_BACKLOG). */
export const PAUSE_FLAG = 2;
export const FLAG_COUNT = 3;
/** One byte per request on the control pipe. */
export const CONTROL_BYTES = { cancel: 0x63, preempt: 0x70, pause: 0x73, resume: 0x72 } as const;

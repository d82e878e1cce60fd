import type { Job } from 'bullmq';
import type { TrainingJobData } from '@trainyard/contracts';

/** Moves a job this worker holds back to BullMQ (delayed, or in line) and throws BullMQ's error saying so. */
export type HandBack = (job: Job<TrainingJobData>, token: string | undefined) => Promise<never>;

/**
 * Thrown where an attempt decides to give its job back (parked at its project's limit, preempted,
 * on a worker without the memory it asks for); the processor moves the job only once everything
 * the attempt holds is let go (its log, checkpoint retention, its pipeline's next steps).
 *
 * Why last: BullMQ renews a job's lock by job id, and the slot that took a job stops renewing that
 * id when its processor returns. Moved earlier, the job could be back in line, taken by another
 * slot of this worker while this one still finished, and its lock then dropped under that slot:
 * the run would stall after the lock's duration and its attempt would be closed as CRASHED.
 */
export class JobHandBack extends Error {
  constructor(
    readonly handBack: HandBack,
    reason: string,
  ) {
    super(reason);
    this.name = 'JobHandBack';
  }
}

import {
  AttemptsRepository,
  AttemptWritesRepository,
  openDatabase,
  RunsRepository,
  type Database,
} from '@trainyard/db';
import type { RunSpec } from '@trainyard/contracts';
import { oneStepPretrain } from './dispatch-orchestration';
import type { JobWork } from './dispatch-raw-bullmq';

/**
 * What a run must cost at least in this design, measured rather than argued: the durable steps of
 * a run through Trainyard's own repositories, in the bench's process beside raw BullMQ's Queue and
 * Worker. Before its job is added, the run's row is inserted (RunsRepository.create); the
 * processor opens its attempt (AttemptsRepository.openCurrent, one statement) and records its
 * outcome (AttemptWritesRepository.conclude, one fenced statement). Left out: HTTP and the API's
 * checks, the worker process and its run read, the run's log, the resume point.
 */
export async function durableRunWork(databaseUrl: string): Promise<{ work: JobWork; close(): Promise<void> }> {
  const db: Database = await openDatabase({ url: databaseUrl, embeddedPath: '' });
  const runs = new RunsRepository(db.prisma);
  const attempts = new AttemptsRepository(db.prisma);
  const writes = new AttemptWritesRepository(db.prisma);
  const spec = oneStepPretrain('durable floor') as unknown as RunSpec;
  return {
    work: {
      async beforeAdd(id) {
        await runs.create({ id, kind: 'PRETRAIN', name: 'durable floor', spec, baseRunId: null });
      },
      async process(runId) {
        const { attempt } = await attempts.openCurrent(runId, null);
        await writes.conclude({ runId, attemptId: attempt.id }, { attempt: 'SUCCEEDED', run: 'SUCCEEDED' });
      },
    },
    close: () => db.close(),
  };
}

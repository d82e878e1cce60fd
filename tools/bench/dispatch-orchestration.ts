import type { RunLogLine, RunSpecInput } from '@trainyard/contracts';
import { tinyPretrain, type Cluster } from '../e2e/cluster';

/**
 * When one run passed each point on its way, in epoch ms, all from clocks of this machine: the
 * client's (submit), PostgreSQL's and the worker's (attempt, SUCCEEDED), the training process's
 * (metric points' wall time) and the worker's as it logged the run's lines (run log `t`).
 */
export interface RunTimeline {
  runId: string;
  submitted: number;
  /** POST /v1/runs answered 201: the run is in PostgreSQL and its job in Redis. */
  accepted: number;
  /** BullMQ's processedOn: a worker slot took the job. */
  jobTaken: number;
  attemptOpened: number;
  /** The worker's "trains in process P" line: the child was spawned, or (prestarted) given its attempt. */
  childSpawned: number;
  /** The worker's "trains on <backend>" line: the child has loaded TensorFlow.js and its backend, and loads the data next. */
  backendReady: number;
  firstStep: number;
  lastStep: number;
  /** The child's last line (the test result or the final checkpoint), just before it sends its outcome and exits. */
  childLastLine: number;
  succeeded: number;
  /** BullMQ's finishedOn: the slot is free again. */
  jobCompleted: number;
  attempts: number;
}

/** The smallest run that trains: synthetic shapes at 16×16, 4 images a class, 1 epoch of 1 batch. */
export function oneStepPretrain(name: string): RunSpecInput {
  const spec = tinyPretrain(name, 1, 4) as Extract<RunSpecInput, { kind: 'pretrain' }>;
  return {
    ...spec,
    dataset: { ...spec.dataset, testPerClass: 1 },
    training: { ...spec.training, batchSize: 1024 },
  } as RunSpecInput;
}

/** Submits `runs` one-step runs, all at once or each after the previous one SUCCEEDED, and reads their timelines back. */
export async function runOneStepRuns(
  cluster: Cluster,
  runs: number,
  mode: 'burst' | 'one at a time',
): Promise<RunTimeline[]> {
  const submitted = new Map<string, [number, number]>();
  const submitOne = async (i: number) => {
    const at = Date.now();
    const id = await cluster.submit(oneStepPretrain(`dispatch ${mode} ${i}`));
    submitted.set(id, [at, Date.now()]);
    return id;
  };
  if (mode === 'burst') {
    const ids = await Promise.all(Array.from({ length: runs }, (_, i) => submitOne(i)));
    await Promise.all(ids.map((id) => cluster.waitForStatus(id, ['SUCCEEDED'], 300_000)));
  } else {
    for (let i = 0; i < runs; i++) await cluster.waitForStatus(await submitOne(i), ['SUCCEEDED'], 120_000);
  }
  const timelines: RunTimeline[] = [];
  // One at a time: the cluster has one PostgreSQL client.
  for (const [id, [at, accepted]] of submitted) timelines.push(await timeline(cluster, id, at, accepted));
  return timelines;
}

async function timeline(cluster: Cluster, runId: string, submitted: number, accepted: number): Promise<RunTimeline> {
  const row = (
    await cluster.pg.query(
      `SELECT r.ended_at, a.started_at AS attempt_opened, (SELECT count(*)::int FROM attempts WHERE run_id = r.id) AS attempts,
       (SELECT min(wall_time) FROM metric_points WHERE run_id = r.id) AS first_step,
       (SELECT max(wall_time) FROM metric_points WHERE run_id = r.id) AS last_step
     FROM runs r JOIN attempts a ON a.run_id = r.id AND a.number = 1 WHERE r.id = $1`,
      [runId],
    )
  ).rows[0];
  if (!row?.first_step) throw new Error(`run ${runId}: no attempt or no metric point in PostgreSQL`);
  const lines = await cluster.runLog(runId);
  const at = (what: string, match: (line: RunLogLine) => boolean, last = false): number => {
    const found = last ? lines.filter(match).pop() : lines.find(match);
    if (!found) throw new Error(`run ${runId}: no ${what} line in its log (${lines.length} lines)`);
    return Date.parse(found.t);
  };
  // The job id is the run id (enqueueRun); finished jobs are kept (DEFAULT_JOB_OPTIONS.removeOnComplete).
  const job = await cluster.queue.getJob(runId);
  if (!job?.processedOn || !job.finishedOn) throw new Error(`run ${runId}: its job is not in Redis as finished`);
  return {
    runId,
    submitted,
    accepted,
    jobTaken: job.processedOn,
    attemptOpened: row.attempt_opened.getTime(),
    childSpawned: at('"trains in process"', (l) => l.source === 'worker' && / trains in process /.test(l.msg)),
    backendReady: at('"trains on"', (l) => l.source === 'worker' && / trains on /.test(l.msg)),
    firstStep: row.first_step.getTime(),
    lastStep: row.last_step.getTime(),
    childLastLine: at('child output', (l) => l.source !== 'worker', true),
    succeeded: row.ended_at.getTime(),
    jobCompleted: job.finishedOn,
    attempts: row.attempts,
  };
}

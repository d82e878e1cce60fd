// `npm run bench:dispatch`: what orchestration costs. Raw BullMQ (a Queue and a Worker in this
// process, no-op jobs); the same with a run's durable steps around each job (the design's floor);
// runs with the training process left out, one POST a run and as sweeps; and one-step runs through
// the whole stack (API process → PostgreSQL → BullMQ → worker process → training process →
// PostgreSQL), measured in the same run, on the real Redis, a fresh PostgreSQL database and an S3
// server. A script, not a test.
// Flags: --runs N (one-step runs per mode, default 10), --jobs N (raw jobs, and runs with the
// training process left out, submitted at once; default 500),
// --concurrency C (worker and raw Worker concurrency, default 2).
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { TEST_ONLY_SETTINGS } from '@trainyard/config';
import { MAX_SWEEP_RUNS } from '@trainyard/contracts';
import { Cluster, REDIS } from '../e2e/cluster';
import { describeCpu, type CpuSource } from './cpu-usage';
import { durableRunWork } from './dispatch-floor';
import { measureRawBullmq } from './dispatch-raw-bullmq';
import { runOneStepRuns, type RunTimeline } from './dispatch-orchestration';
import { measureThroughput } from './dispatch-throughput';
import { percentile } from './percentiles';
import { positiveIntegerFlags } from './positive-flags';
import { machineLine, loadAverage } from './machine-line';

const PER_JOB_OVERHEAD_TARGET_MS = 1000;
const THROUGHPUT_RATIO_TARGET = 0.5;

/** The spans reported per run: [label, from, to]. */
const PHASES: [string, keyof RunTimeline, keyof RunTimeline][] = [
  ['submit → first training step (everything)', 'submitted', 'firstStep'],
  ['  submit → accepted (HTTP, validation, PostgreSQL insert, enqueue)', 'submitted', 'accepted'],
  ['  submit → job taken (+ BullMQ dispatch and queueing; may come before the 201)', 'submitted', 'jobTaken'],
  ['  job taken → attempt opened (worker reads the run, opens the attempt)', 'jobTaken', 'attemptOpened'],
  [
    '  attempt opened → training process given the attempt (worker: inputs, resume candidates)',
    'attemptOpened',
    'childSpawned',
  ],
  ['submit → training process given the attempt (orchestration before the child)', 'submitted', 'childSpawned'],
  [
    '  process given the attempt → backend ready (what is left of its start and backend load)',
    'childSpawned',
    'backendReady',
  ],
  ['  backend ready → first step (data load, model build, one batch)', 'backendReady', 'firstStep'],
  ['submit → backend ready (per-job overhead with the child, data loading excluded)', 'submitted', 'backendReady'],
  ['last step → SUCCEEDED (evaluation, final checkpoint, exit, outcome)', 'lastStep', 'succeeded'],
  ["  child's last line → SUCCEEDED (process exit, outcome written)", 'childLastLine', 'succeeded'],
  ['SUCCEEDED → job completed (BullMQ marks the job done, the slot is free)', 'succeeded', 'jobCompleted'],
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '10' },
      jobs: { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '2' },
    },
  });
  const { runs, jobs, concurrency } = positiveIntegerFlags(values);
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(machineLine('dispatch'));

  const redis = new Redis({ ...REDIS, maxRetriesPerRequest: null });
  const raw = await measureRawBullmq(jobs, 100, concurrency, [
    { name: 'this process (Queue and Worker)', kind: 'this process' },
    { name: 'Redis', kind: 'redis', client: redis },
  ]);
  log(
    `\nraw BullMQ: Queue + Worker in this process, concurrency ${concurrency}, no-op jobs, the training queue's job options (${loadAverage()})`,
  );
  log(
    `  ${jobs} jobs added at once: ${raw.jobsPerS.toFixed(0)} jobs/s; add → completed ${spread(raw.burstMs)} (queueing included)`,
  );
  log(`  100 jobs one at a time: add → completed ${spread(raw.oneAtATimeMs)}`);
  log(`  ${describeCpu(raw.burstCpu, 'job')} (the burst)`);

  // The bench is one client submitting hundreds of runs a second: the per-key rate limit is lifted.
  const cluster = await Cluster.start({ WORKER_CONCURRENCY: String(concurrency), RATE_LIMIT_PER_MINUTE: '1000000' });
  try {
    // The floor of the design: a run's durable steps alone, through its repositories, beside raw BullMQ.
    const floor = await durableRunWork(cluster.env['DATABASE_URL']!);
    const durable = await measureRawBullmq(
      jobs,
      0,
      concurrency,
      [
        { name: 'this process (Queue, Worker, Prisma)', kind: 'this process' },
        { name: 'PostgreSQL', kind: 'postgres', client: cluster.pg },
        { name: 'Redis', kind: 'redis', client: redis },
      ],
      floor.work,
    ).finally(() => floor.close());
    log(
      `\nthe design's floor: a run's row, its fenced attempt and its outcome through Trainyard's repositories (3 statements), in this process around raw BullMQ's jobs; no HTTP, worker process or run log (${loadAverage()})`,
    );
    log(`  ${jobs} runs at once: ${durable.jobsPerS.toFixed(0)} runs/s; add → completed ${spread(durable.burstMs)}`);
    log(`  ${describeCpu(durable.burstCpu, 'run')}`);

    // Orchestration alone: the same path with the training process left out (a test-only stand-in
    // that succeeds at once), as many runs as raw jobs, all submitted at once.
    const worker = await cluster.startWorker({ NODE_ENV: 'test', [TEST_ONLY_SETTINGS.noTrainingProcess]: '1' });
    await measureThroughput(cluster, 5);
    const cpuSources: CpuSource[] = [
      { name: 'API', kind: 'process', pid: cluster.api.child.pid! },
      { name: 'worker', kind: 'process', pid: worker.child.pid! },
      { name: 'PostgreSQL', kind: 'postgres', client: cluster.pg },
      { name: 'Redis', kind: 'redis', client: redis },
      { name: 'this process (HTTP client, S3 server)', kind: 'this process' },
    ];
    const childFree = await measureThroughput(cluster, jobs, cpuSources);
    log(
      `\nTrainyard with the training process left out: ${jobs} runs submitted at once over HTTP, 1 worker process, concurrency ${concurrency} (${loadAverage()})`,
    );
    log(
      `  ${childFree.runsPerS.toFixed(1)} runs/s (first submit → last SUCCEEDED); the API accepted ${childFree.acceptedPerS.toFixed(1)} runs/s; submit → SUCCEEDED ${spread(childFree.submitToSucceededMs)} (queueing included)`,
    );
    log(`  ${describeCpu(childFree.cpu, 'run')}`);
    // The same runs as sweeps: what a bulk submission (one request, one INSERT, one addBulk a
    // class for up to 200 runs) saves the API and the client.
    const swept = await measureThroughput(cluster, jobs, cpuSources, 'sweeps');
    log(
      `\n  the same ${jobs} runs submitted as ${swept.requests} sweeps (POST /v1/sweeps of up to ${MAX_SWEEP_RUNS} runs) at once (${loadAverage()})`,
    );
    log(
      `  ${swept.runsPerS.toFixed(1)} runs/s (first submit → last SUCCEEDED); the API accepted ${swept.acceptedPerS.toFixed(1)} runs/s; submit → SUCCEEDED ${spread(swept.submitToSucceededMs)} (queueing included)`,
    );
    log(`  ${describeCpu(swept.cpu, 'run')}`);
    await cluster.stopWorkers('SIGTERM');

    await cluster.startWorker();
    // One unmeasured run: the first training process reads TensorFlow.js from disk, later ones from the page cache.
    await runOneStepRuns(cluster, 1, 'one at a time');
    log(
      `\nTrainyard: one-step pretrains (synthetic shapes 16×16, 4 a class, 1 epoch of 1 batch), 1 worker process, concurrency ${concurrency}, wasm backend`,
    );

    const serial = await runOneStepRuns(cluster, runs, 'one at a time');
    log(`\n  ${runs} runs one at a time (no queueing) (${loadAverage()}):`);
    table(serial, log);

    const burst = await runOneStepRuns(cluster, runs, 'burst');
    const wallMs = Math.max(...burst.map((r) => r.succeeded)) - Math.min(...burst.map((r) => r.submitted));
    const runsPerS = runs / (wallMs / 1000);
    log(`\n  ${runs} runs submitted at once (${loadAverage()}):`);
    table(burst, log);
    log(
      `  throughput with the training process: ${runsPerS.toFixed(2)} runs/s (${(wallMs / 1000).toFixed(1)} s wall, first submit → last SUCCEEDED)`,
    );
    // The baseline, side by side: a worker that starts each attempt's process when the job comes.
    await cluster.stopWorkers('SIGTERM');
    await cluster.startWorker({ WORKER_PRESTART: 'false' });
    await runOneStepRuns(cluster, 1, 'one at a time');
    const cold = await runOneStepRuns(cluster, runs, 'one at a time');
    log(
      `\n  ${runs} runs one at a time, WORKER_PRESTART=false: each process started when its job came (${loadAverage()}):`,
    );
    table(cold, log);
    const [warmOverhead, coldOverhead] = [serial, cold].map((t) => sorted(t, 'submitted', 'backendReady'));
    log(
      `  submit → backend ready, prestarted / started with the job: p50 ${fmt(percentile(warmOverhead, 50)).trim()} / ${fmt(percentile(coldOverhead, 50)).trim()} (×${(percentile(coldOverhead, 50) / percentile(warmOverhead, 50)).toFixed(1)} faster), p99 ${fmt(percentile(warmOverhead, 99)).trim()} / ${fmt(percentile(coldOverhead, 99)).trim()}`,
    );

    const resumed = [...serial, ...burst, ...cold].filter((r) => r.attempts > 1).length;
    if (resumed) log(`  (${resumed} run(s) took more than one attempt: their figures include a retry)`);

    const ratio = childFree.runsPerS / raw.jobsPerS;
    const sweptRatio = swept.runsPerS / raw.jobsPerS;
    const floorRatio = durable.jobsPerS / raw.jobsPerS;
    const overheadP99 = percentile(sorted(serial, 'submitted', 'backendReady'), 99);
    log(
      `\nratio orchestration / raw BullMQ throughput: ${ratio.toFixed(3)} with the training process left out, one POST a run (target ≥ ${THROUGHPUT_RATIO_TARGET}: ${ratio >= THROUGHPUT_RATIO_TARGET ? 'met' : 'MISSED'}); ${sweptRatio.toFixed(3)} submitted as sweeps (${sweptRatio >= THROUGHPUT_RATIO_TARGET ? 'met' : 'MISSED'}); ${(runsPerS / raw.jobsPerS).toFixed(4)} with the training process; the design's floor (a run's durable steps alone) ${floorRatio.toFixed(3)}`,
    );
    const cores = cpus().length;
    log(
      `CPU a run / CPU a raw job: ${childFree.cpu.totalMs.toFixed(2)} ms / ${raw.burstCpu.totalMs.toFixed(2)} ms = ×${(childFree.cpu.totalMs / raw.burstCpu.totalMs).toFixed(0)}; with ${cores} cores busy that bounds them at ${((cores * 1000) / childFree.cpu.totalMs).toFixed(0)} runs/s and ${((cores * 1000) / raw.burstCpu.totalMs).toFixed(0)} jobs/s`,
    );
    log(
      `  as sweeps: ${swept.cpu.totalMs.toFixed(2)} ms a run = ×${(swept.cpu.totalMs / raw.burstCpu.totalMs).toFixed(0)} a raw job; bound ${((cores * 1000) / swept.cpu.totalMs).toFixed(0)} runs/s`,
    );
    log(
      `per-job overhead with the child, data loading excluded (submit → backend ready, one at a time): p99 ${overheadP99.toFixed(0)} ms (target ≤ ${PER_JOB_OVERHEAD_TARGET_MS} ms: ${overheadP99 <= PER_JOB_OVERHEAD_TARGET_MS ? 'met' : 'MISSED'})`,
    );
  } finally {
    await cluster.stop();
    redis.disconnect();
  }
}

function sorted(timelines: RunTimeline[], from: keyof RunTimeline, to: keyof RunTimeline): number[] {
  return timelines.map((r) => (r[to] as number) - (r[from] as number)).sort((a, b) => a - b);
}

function table(timelines: RunTimeline[], log: (line: string) => void): void {
  log(`  ${'span'.padEnd(88)} ${'p50'.padStart(8)} ${'p99'.padStart(8)}`);
  for (const [label, from, to] of PHASES) {
    const ms = sorted(timelines, from, to);
    log(`  ${label.padEnd(88)} ${fmt(percentile(ms, 50))} ${fmt(percentile(ms, 99))}`);
  }
}

function spread(ms: number[]): string {
  return `p50 ${percentile(ms, 50).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms`;
}

function fmt(ms: number): string {
  return `${ms.toFixed(0)} ms`.padStart(8);
}

main().then(
  // Explicit: a closed client's timer must not keep the figures waiting.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);

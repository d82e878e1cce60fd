import { randomUUID } from 'node:crypto';
import { MAX_SWEEP_RUNS } from '@trainyard/contracts';
import { TERMINAL, type Cluster } from '../e2e/cluster';
import { cpuPerUnit, readCpu, type CpuSource } from './cpu-usage';
import { oneStepPretrain } from './dispatch-orchestration';

/** How the runs reach the API: one POST /v1/runs each, or POST /v1/sweeps of up to MAX_SWEEP_RUNS runs. */
export type Submission = 'runs' | 'sweeps';

export interface ThroughputFigures {
  runs: number;
  /** POST requests it took. */
  requests: number;
  /** Runs per second from the first submit to the last 201. */
  acceptedPerS: number;
  /** Runs per second from the first submit to the last SUCCEEDED. */
  runsPerS: number;
  /** submit → SUCCEEDED per run, ms, sorted (queueing included). */
  submitToSucceededMs: number[];
  /** CPU per run, of each of `cpuSources`, from the first submit to the last SUCCEEDED. */
  cpu: ReturnType<typeof cpuPerUnit>;
}

/**
 * Submits `runs` runs at once over HTTP, as raw BullMQ adds its jobs (one POST /v1/runs a run, or
 * as few POST /v1/sweeps as hold them), and waits until PostgreSQL has every one SUCCEEDED. Meant
 * for a worker that leaves the training process out (TRAINYARD_TEST_NO_TRAINING_PROCESS): each
 * run then costs only what orchestration does. Completion is read from PostgreSQL
 * (Cluster.waitForSql), one query a poll, so the waiting does not load the API.
 */
export async function measureThroughput(
  cluster: Cluster,
  runs: number,
  cpuSources: CpuSource[] = [],
  submission: Submission = 'runs',
): Promise<ThroughputFigures> {
  const batch = randomUUID().slice(0, 8);
  const cpuBefore = await readCpu(cpuSources);
  /** Run id → when the request that made it was sent. */
  const submitted = new Map<string, number>();
  const started = Date.now();
  let lastAccepted = started;
  const requests = submission === 'runs' ? runs : Math.ceil(runs / MAX_SWEEP_RUNS);
  await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      const at = Date.now();
      const ids =
        submission === 'runs'
          ? [await cluster.submit(oneStepPretrain(`throughput ${batch} ${i}`))]
          : await submitSweep(cluster, `throughput ${batch} ${i}`, shareOf(runs, requests, i));
      lastAccepted = Math.max(lastAccepted, Date.now());
      for (const id of ids) submitted.set(id, at);
    }),
  );
  const ids = [...submitted.keys()];
  // Until every run has ended; one that ended other than SUCCEEDED spoils the measurement.
  const settled = await cluster.waitForSql(
    `all ${runs} runs to end`,
    `SELECT count(*) FILTER (WHERE status::text = ANY($2::text[])) = $3 AS ok,
            count(*) FILTER (WHERE status = 'SUCCEEDED')::int AS succeeded
     FROM runs WHERE id = ANY($1::uuid[])`,
    [ids, TERMINAL, runs],
    600_000,
  );
  if (settled['succeeded'] !== runs)
    throw new Error(`${runs - Number(settled['succeeded'])} of the ${runs} runs ended other than SUCCEEDED`);
  const cpu = cpuPerUnit(cpuBefore, await readCpu(cpuSources), runs);
  const ended = (await cluster.pg.query(`SELECT id, ended_at FROM runs WHERE id = ANY($1::uuid[])`, [ids])).rows as {
    id: string;
    ended_at: Date;
  }[];
  const lastSucceeded = Math.max(...ended.map((r) => r.ended_at.getTime()));
  return {
    runs,
    requests,
    acceptedPerS: runs / ((lastAccepted - started) / 1000),
    runsPerS: runs / ((lastSucceeded - started) / 1000),
    submitToSucceededMs: ended.map((r) => r.ended_at.getTime() - submitted.get(r.id)!).sort((a, b) => a - b),
    cpu,
  };
}

/** The i-th of `parts` near-equal shares of `total`. */
function shareOf(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

/**
 * One POST /v1/sweeps of `runs` fine-tunes of synthetic shapes (random seeds: a random sweep makes
 * exactly maxRuns runs), and the ids of the runs it recorded.
 */
async function submitSweep(cluster: Cluster, name: string, runs: number): Promise<string[]> {
  const base = {
    kind: 'finetune',
    name,
    dataset: { name: 'synthetic-shapes', imageSize: 16, perClass: 4, testPerClass: 1 },
    model: { type: 'classifier', baseRunId: null },
    training: { epochs: 1, batchSize: 1024, learningRate: 2e-3, seed: 1 },
  };
  const response = await cluster.fetch(`${cluster.baseUrl}/v1/sweeps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      base,
      strategy: 'random',
      parameters: { 'training.seed': { min: 1, max: 1_000_000 } },
      maxRuns: runs,
    }),
  });
  if (response.status !== 201) throw new Error(`sweep answered ${response.status}: ${await response.text()}`);
  const { id } = (await response.json()) as { id: string };
  const rows = (await cluster.pg.query(`SELECT id FROM runs WHERE sweep_id = $1`, [id])).rows as { id: string }[];
  if (rows.length !== runs) throw new Error(`sweep ${id} recorded ${rows.length} runs, not ${runs}`);
  return rows.map((r) => r.id);
}

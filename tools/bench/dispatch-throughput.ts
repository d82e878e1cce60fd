import { randomUUID } from 'node:crypto';
import { TERMINAL, type Cluster } from '../e2e/cluster';
import { cpuPerUnit, readCpu, type CpuSource } from './cpu-usage';
import { oneStepPretrain } from './dispatch-orchestration';

export interface ThroughputFigures {
  runs: number;
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
 * Submits `runs` runs at once over HTTP, as raw BullMQ adds its jobs, and waits until PostgreSQL
 * has every one SUCCEEDED. Meant for a worker that leaves the training process out
 * (TRAINYARD_TEST_NO_TRAINING_PROCESS): each run then costs only what orchestration does.
 * Completion is read from PostgreSQL (Cluster.waitForSql), one query a poll, so the waiting does
 * not load the API.
 */
export async function measureThroughput(
  cluster: Cluster,
  runs: number,
  cpuSources: CpuSource[] = [],
): Promise<ThroughputFigures> {
  const batch = randomUUID().slice(0, 8);
  const cpuBefore = await readCpu(cpuSources);
  const submitted = new Map<string, number>();
  const started = Date.now();
  let lastAccepted = started;
  await Promise.all(
    Array.from({ length: runs }, async (_, i) => {
      const at = Date.now();
      const id = await cluster.submit(oneStepPretrain(`throughput ${batch} ${i}`));
      submitted.set(id, at);
      lastAccepted = Math.max(lastAccepted, Date.now());
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
    acceptedPerS: runs / ((lastAccepted - started) / 1000),
    runsPerS: runs / ((lastSucceeded - started) / 1000),
    submitToSucceededMs: ended.map((r) => r.ended_at.getTime() - submitted.get(r.id)!).sort((a, b) => a - b),
    cpu,
  };
}

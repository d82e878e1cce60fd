import { readFileSync } from 'node:fs';
import { RESOURCE_CLASSES, TERMINAL_RUN_STATUSES, type RunSpecInput } from '@trainyard/contracts';
import { Cluster, trainingProcesses } from '../e2e/cluster';
import type { AppProcess } from '../e2e/processes';
import { freezeRedis, restartRedis, startRedis } from '../e2e/redis-restart';
import { failures, verifyChaos, type ChaosVerdict } from './chaos-checks';
import { seededRandom, type ChaosOptions } from './chaos-options';

export interface ChaosReport {
  options: ChaosOptions;
  runs: number;
  faults: Record<'kill -9' | 'SIGTERM' | 'child kill -9' | 'redis restart' | 'redis freeze' | 'store outage', number>;
  verdict: ChaosVerdict;
  failed: string[];
  wallS: number;
  /** Jobs BullMQ found stalled (their lock lapsed: a killed worker, the Redis freeze) and handed out again. */
  stalledJobs: number;
  /** Jobs parked at their project's PROJECT_MAX_RUNNING, and parked jobs let back in line when a run ended. */
  parked: number;
  released: number;
}

/** PROJECT_MAX_RUNNING of the soak's fleet, and the second project half the runs belong to. */
const PROJECT_LIMIT = 1;
const SECOND_PROJECT = 'chaos-b';

const TERMINAL: readonly string[] = TERMINAL_RUN_STATUSES;
const encoder = { inputShape: [16, 16, 1] as [number, number, number], filters: [8], latentDim: 16 };
const shapes = { name: 'synthetic-shapes' as const, imageSize: 16, perClass: 120, testPerClass: 5 };

/**
 * Every resource class in turn (each worker consumes all three, so every class's queue goes
 * through the kills, the Redis restart and the reconciler), and priorities that differ.
 */
const placement = (i: number) => ({
  resources: { accelerator: RESOURCE_CLASSES[i % RESOURCE_CLASSES.length]! },
  priority: (i % 3) * 10 - 10,
});

const pretrain = (i: number, epochs: number): RunSpecInput =>
  ({
    ...placement(i),
    kind: 'pretrain',
    name: `chaos pretrain ${i}`,
    dataset: shapes,
    model: { type: 'conv-autoencoder', ...encoder },
    training: { epochs, batchSize: 16, learningRate: 2e-3, seed: i },
    checkpoint: { everyEpochs: 2 },
  }) as RunSpecInput;

const finetune = (i: number, epochs: number, baseRunId: string): RunSpecInput =>
  ({
    ...placement(i),
    kind: 'finetune',
    name: `chaos finetune ${i}`,
    dataset: { ...shapes, labelsPerClass: 60 },
    model: { type: 'classifier', baseRunId, ...encoder },
    training: { epochs, batchSize: 16, learningRate: 3e-3, seed: i },
    checkpoint: { everyEpochs: 2 },
  }) as RunSpecInput;

/**
 * The soak: a fresh fleet (API, K workers, fresh PostgreSQL database, s3rver, its own queue on
 * the real Redis), N tiny runs — pretrains first, fine-tunes of them once they succeed — and
 * random kill -9 / SIGTERM of workers (each restarted at once), kill -9 of training processes
 * one Redis restart and one Redis freeze (SIGSTOP for longer than a lock lasts), only while a run
 * trains: the first fault kills a training process, then Redis restarts, the second kills or
 * terminates a worker, then Redis freezes; later ones are random. Faults stop
 * after `durationS`; the runs get `settleS` more to finish. Then the checks of chaos-checks.ts.
 */
/** Longer than the e2e workers' lock (WORKER_LOCK_DURATION_MS 1000 in Cluster). */
const REDIS_FREEZE_MS = 3000;
/** Longer than the store client's own retries (5 tries, at most 0.2 + 0.4 + 0.8 + 1.6 s apart). */
const STORE_OUTAGE_MS = 8000;

export async function runChaos(options: ChaosOptions, log: (line: string) => void): Promise<ChaosReport> {
  const started = Date.now();
  const random = seededRandom(options.seed);
  const faults: ChaosReport['faults'] = {
    'kill -9': 0,
    SIGTERM: 0,
    'child kill -9': 0,
    'redis restart': 0,
    'redis freeze': 0,
    'store outage': 0,
  };
  // Faults are the point: attempts must not run out before the runs finish.
  const cluster = await Cluster.start({
    WORKER_MAX_ATTEMPTS: '50',
    WORKER_SHUTDOWN_TIMEOUT_MS: '10000',
    WORKER_RECONCILE_INTERVAL_MS: '1000',
    WORKER_RESOURCE_CLASSES: RESOURCE_CLASSES.join(','),
    // Half the runs in each of two projects, one run of each training at a time: jobs of a project
    // at its limit are parked and let back in line through every fault.
    PROJECT_MAX_RUNNING: String(PROJECT_LIMIT),
  });
  // Every worker that ran, the killed ones too, for what their output says.
  const retired: AppProcess[] = [];
  try {
    for (let k = 0; k < options.workers; k++) await cluster.startWorker();
    const secondProject = await projectKey(cluster, SECOND_PROJECT);
    const submitted: { id: string; epochs: number; kind: string; auth: Record<string, string> }[] = [];
    const pretrains = Math.ceil(options.runs / 2);
    for (let i = 0; i < pretrains; i++) {
      const epochs = 10 + Math.floor(random() * 6);
      const auth = i % 2 === 0 ? {} : secondProject;
      submitted.push({ id: await cluster.submit(pretrain(i, epochs), auth), epochs, kind: 'pretrain', auth });
    }
    log(`chaos: ${pretrains} pretrains submitted to ${options.workers} workers (seed ${options.seed})`);

    // Faults come until the fault window closes; then the fleet is left alone to converge, and a
    // run still not terminal when the settle time is up is lost. (Under continuous faults a slow
    // machine may never finish a run; that is not what the soak is checking.)
    const faultsUntil = started + options.durationS * 1000;
    const settleUntil = faultsUntil + options.settleS * 1000;
    let injected = 0;
    let nextFault = Date.now() + options.faultEveryMs * (0.5 + random());
    let quiet = false;
    const statuses = async () =>
      new Map(await Promise.all(submitted.map(async (r) => [r.id, (await cluster.run(r.id)).status] as const)));
    for (;;) {
      const now = await statuses();
      // A fine-tune needs a SUCCEEDED base: submit them as pretrains finish.
      const bases = submitted.filter((r) => r.kind === 'pretrain' && now.get(r.id) === 'SUCCEEDED');
      while (submitted.length < options.runs && bases.length > submitted.length - pretrains) {
        const i = submitted.length;
        const epochs = 10 + Math.floor(random() * 6);
        // In its base's project: a project's key sees only its own runs.
        const base = bases[i - pretrains]!;
        submitted.push({
          id: await cluster.submit(finetune(i, epochs, base.id), base.auth),
          epochs,
          kind: 'finetune',
          auth: base.auth,
        });
      }
      const pending = submitted.filter((r) => !TERMINAL.includes(now.get(r.id) ?? ''));
      if (submitted.length === options.runs && pending.length === 0) break;
      if (Date.now() > settleUntil) {
        log(`chaos: settle time is up with ${pending.length} runs not terminal`);
        break;
      }
      if (!quiet && Date.now() > faultsUntil) {
        quiet = true;
        log(`chaos: fault window over; ${pending.length} runs not terminal get ${options.settleS} s to finish`);
      }
      const training = [...now.values()].includes('RUNNING');
      if (quiet || !training) {
        // Faults only land while a run trains, so every kind is exercised however fast runs go.
      } else if (options.redisRestart && faults['redis restart'] === 0 && injected > 0) {
        // Redis goes down once, right after the first fault and while a run trains (jobs active
        // and queued are lost then).
        log('chaos: restarting Redis (every job and lock lost)');
        await restartRedis();
        faults['redis restart']++;
      } else if (options.redisRestart && faults['redis freeze'] === 0 && injected > 1) {
        // Then, once, Redis stalls without closing a connection for longer than the workers'
        // locks last: jobs held while training look stalled when it wakes, and are taken again.
        log(`chaos: freezing Redis for ${REDIS_FREEZE_MS} ms (nothing answers; locks expire)`);
        await freezeRedis(REDIS_FREEZE_MS);
        faults['redis freeze']++;
      } else if (
        faults['store outage'] === 0 &&
        (faults['redis freeze'] > 0 || !options.redisRestart) &&
        injected > 1
      ) {
        // Then, once, the object store goes away for longer than its client retries: checkpoints
        // and logs cannot be written; the runs that meet it wait for it (not counted as failures)
        // and go on from their last COMPLETE checkpoint once it is back.
        log(`chaos: taking the object store down for ${STORE_OUTAGE_MS} ms`);
        await cluster.s3!.down();
        try {
          await new Promise((resolve) => setTimeout(resolve, STORE_OUTAGE_MS));
        } finally {
          await cluster.s3!.up();
        }
        faults['store outage']++;
      } else if (injected < 2 || Date.now() >= nextFault) {
        // The first fault kills a training process and the second a worker, as soon as a run
        // trains; after them a third of the faults, at random, kill a training process.
        const child =
          injected === 0 || (injected > 1 && random() < 1 / 3)
            ? liveTrainingProcess(
                cluster,
                submitted.map((r) => r.id),
                random,
              )
            : undefined;
        if (child) killTrainingProcess(child, faults, log);
        else if (injected > 0) {
          const stopped = await injectWorkerFault(cluster, random, faults, log);
          if (stopped) retired.push(stopped);
        }
        if (child || injected > 0) injected++;
        nextFault = Date.now() + options.faultEveryMs * (0.5 + random());
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    // Every project of the soak is held by the fleet's PROJECT_MAX_RUNNING.
    const verdict = await verifyChaos(cluster.pg, cluster.checkpoints, submitted, () => PROJECT_LIMIT);
    return {
      options,
      runs: submitted.length,
      faults,
      verdict,
      failed: failures(verdict),
      wallS: (Date.now() - started) / 1000,
      stalledJobs: countLines([...cluster.workers, ...retired], /job \S+ stalled and goes back to the queue/g),
      parked: countLines([...cluster.workers, ...retired], /run \S+ parked until a run of its project ends/g),
      released: countLines([...cluster.workers, ...retired], /place\(s\) free under its limit: [^\n]*back in line/g),
    };
  } finally {
    if (options.redisRestart) await startRedis();
    await cluster.stop();
  }
}

/** How many lines of the workers' output match `pattern` (global). */
function countLines(workers: AppProcess[], pattern: RegExp): number {
  return workers.map((w) => w.output().match(pattern)?.length ?? 0).reduce((a, b) => a + b, 0);
}

/** An API key of `project` (read and submit), as the header that sends it. */
async function projectKey(cluster: Cluster, project: string): Promise<Record<string, string>> {
  const response = await cluster.fetch(`${cluster.baseUrl}/v1/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: `chaos ${project}`, scopes: ['read', 'submit'], project }),
  });
  if (response.status !== 201) throw new Error(`POST /v1/keys answered ${response.status}: ${await response.text()}`);
  return { authorization: `Bearer ${((await response.json()) as { token: string }).token}` };
}

/** kill -9 or SIGTERM one live worker, then start a new one in its place; returns the one stopped. */
async function injectWorkerFault(
  cluster: Cluster,
  random: () => number,
  faults: ChaosReport['faults'],
  log: (line: string) => void,
): Promise<AppProcess | undefined> {
  const live = cluster.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  const victim: AppProcess | undefined = live[Math.floor(random() * live.length)];
  if (!victim) return undefined;
  const signal = random() < 0.5 ? 'SIGKILL' : 'SIGTERM';
  const startedAt = Date.now();
  await victim.stop(signal);
  faults[signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM']++;
  log(
    `chaos: ${signal === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} worker pid ${victim.child.pid} (gone in ${Date.now() - startedAt} ms); starting another`,
  );
  // Keep the output of the dead out of the fleet list: the cluster stops only live ones at the end.
  cluster.workers.splice(cluster.workers.indexOf(victim), 1);
  await cluster.startWorker();
  return victim;
}

/**
 * A training process alive now, at random, found from the workers' "trains in process P" lines.
 * Its parent must still be that worker: a pid the system gave to another process is left alone.
 */
function liveTrainingProcess(
  cluster: Cluster,
  runIds: string[],
  random: () => number,
): { pid: number; runId: string; attempt: number } | undefined {
  const live = cluster.workers.flatMap((worker) =>
    runIds.flatMap((runId) =>
      trainingProcesses(worker.output(), runId)
        .filter((p) => parentPid(p.pid) === worker.child.pid)
        .map((p) => ({ pid: p.pid, runId, attempt: p.attempt })),
    ),
  );
  return live[Math.floor(random() * live.length)];
}

/** The child's attempt fails as retryable and the run resumes from its last checkpoint on some worker; the worker lives on. */
function killTrainingProcess(
  child: { pid: number; runId: string; attempt: number },
  faults: ChaosReport['faults'],
  log: (line: string) => void,
): void {
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    return; // exited between the look and the kill
  }
  faults['child kill -9']++;
  log(`chaos: kill -9 training process ${child.pid} (run ${child.runId} attempt ${child.attempt})`);
}

/** From /proc/<pid>/stat: the fourth field, after the command name in parentheses (which may hold spaces). */
function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // gone
  }
}

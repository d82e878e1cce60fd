import type { Client } from 'pg';
import { TERMINAL_RUN_STATUSES } from '@trainyard/contracts';
import type { CheckpointStore } from '@trainyard/storage';
import { overLimitSpans } from './project-limit-check';

export interface ChaosVerdict {
  terminal: Record<string, number>;
  lost: string[];
  notSucceeded: string[];
  duplicatedSteps: number;
  missingEpochs: string[];
  summaryMismatches: string[];
  unverifiedFinals: string[];
  /** Spans in which a project trained more runs at once than its limit. */
  overLimit: string[];
  resumed: number;
}

/**
 * An overlap of a project's runs shorter than this is the clock, not a breach: an attempt's start
 * is its transaction's, which may begin a moment before the run it follows ends (see overLimitSpans).
 */
const OVER_LIMIT_TOLERANCE_MS = 1000;

const TERMINAL: readonly string[] = TERMINAL_RUN_STATUSES;

/**
 * What must hold after the soak, read from PostgreSQL (the truth) and the object store: every
 * run terminal (SUCCEEDED expected), one point per (run, metric, step) and one epoch metric per
 * epoch, summaries equal to what their points give, and a final checkpoint that reads back with
 * every sha256 verified for each SUCCEEDED run.
 */
export async function verifyChaos(
  pg: Client,
  checkpoints: CheckpointStore,
  runs: { id: string; epochs: number }[],
  projectLimit: (project: string) => number | undefined,
): Promise<ChaosVerdict> {
  const ids = runs.map((r) => r.id);
  const statuses = new Map<string, string>(
    (await pg.query(`SELECT id::text, status::text FROM runs WHERE id = ANY($1::uuid[])`, [ids])).rows.map((r) => [
      r.id,
      r.status,
    ]),
  );
  const terminal: Record<string, number> = {};
  for (const status of statuses.values()) if (TERMINAL.includes(status)) terminal[status] = (terminal[status] ?? 0) + 1;
  const lostIds = ids.filter((id) => !TERMINAL.includes(statuses.get(id) ?? 'missing'));
  // A lost run, with what its attempts say, so a failure in CI can be read without a rerun.
  const attemptsOf = new Map<string, string>(
    (
      await pg.query(
        `SELECT run_id::text AS id, string_agg(number || ' ' || outcome || COALESCE(' on ' || worker_id, '')
           || COALESCE(' (' || left(error, 120) || ')', ''), '; ' ORDER BY number) AS attempts
         FROM attempts WHERE run_id = ANY($1::uuid[]) GROUP BY run_id`,
        [lostIds],
      )
    ).rows.map((r) => [r.id, r.attempts]),
  );
  const lost = lostIds.map(
    (id) => `${id} (${statuses.get(id) ?? 'missing'}; attempts: ${attemptsOf.get(id) ?? 'none'})`,
  );
  const succeeded = runs.filter((r) => statuses.get(r.id) === 'SUCCEEDED');

  const duplicatedSteps = (
    await pg.query(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM metric_points WHERE run_id = ANY($1::uuid[]) GROUP BY run_id, name, step HAVING count(*) > 1) d`,
      [ids],
    )
  ).rows[0].n as number;

  const epochsSeen = new Map<string, number[]>(
    (
      await pg.query(
        `SELECT run_id::text AS id, array_agg(epoch ORDER BY step) AS epochs FROM metric_points WHERE run_id = ANY($1::uuid[]) AND name = 'loss' GROUP BY run_id`,
        [ids],
      )
    ).rows.map((r) => [r.id, r.epochs]),
  );
  const missingEpochs = succeeded
    .filter(
      (r) =>
        JSON.stringify(epochsSeen.get(r.id) ?? []) !==
        JSON.stringify(Array.from({ length: r.epochs }, (_, i) => i + 1)),
    )
    .map((r) => `${r.id}: loss epochs ${JSON.stringify(epochsSeen.get(r.id) ?? [])}, expected 1..${r.epochs}`);

  const summaryMismatches = (
    await pg.query(
      `SELECT s.run_id::text AS id, s.name FROM metric_summaries s JOIN (
       SELECT run_id, name, count(*)::int AS n, min(value) AS min,
         COALESCE(max(value) FILTER (WHERE value <> 'NaN'::float8), max(value)) AS max,
         (array_agg(value ORDER BY step DESC))[1] AS last, max(step) AS last_step
       FROM metric_points WHERE run_id = ANY($1::uuid[]) GROUP BY run_id, name) p ON p.run_id = s.run_id AND p.name = s.name
     WHERE s.run_id = ANY($1::uuid[])
       AND (s.count <> p.n OR s.min <> p.min OR s.max <> p.max OR s.last <> p.last OR s.last_step <> p.last_step)`,
      [ids],
    )
  ).rows.map((r) => `${r.id} ${r.name}`);

  const finals = new Map<string, string>(
    (
      await pg.query(
        `SELECT DISTINCT ON (run_id) run_id::text AS id, uri FROM checkpoints
       WHERE run_id = ANY($1::uuid[]) AND status = 'COMPLETE' AND reason = 'final' ORDER BY run_id, sequence DESC`,
        [ids],
      )
    ).rows.map((r) => [r.id, r.uri]),
  );
  const unverifiedFinals: string[] = [];
  for (const run of succeeded) {
    const uri = finals.get(run.id);
    // CheckpointStore.read checks every file against the manifest's sha256.
    const error = uri
      ? await checkpoints.read(uri).then(
          () => undefined,
          (e: Error) => e.message,
        )
      : 'no final COMPLETE checkpoint';
    if (error) unverifiedFinals.push(`${run.id}: ${error}`);
  }

  const resumed = (
    await pg.query(
      `SELECT count(*)::int AS n FROM (SELECT run_id FROM attempts WHERE run_id = ANY($1::uuid[]) GROUP BY run_id HAVING count(*) > 1) r`,
      [ids],
    )
  ).rows[0].n as number;
  const overLimit = overLimitSpans(
    (
      await pg.query(
        `SELECT r.project, a.run_id::text AS id, a.started_at, a.ended_at
         FROM attempts a JOIN runs r ON r.id = a.run_id WHERE a.run_id = ANY($1::uuid[])`,
        [ids],
      )
    ).rows.map((a) => ({
      project: a.project,
      runId: a.id,
      startMs: a.started_at.getTime(),
      endMs: a.ended_at?.getTime() ?? null,
    })),
    projectLimit,
    OVER_LIMIT_TOLERANCE_MS,
    Date.now(),
  );
  const notSucceeded = ids
    .filter((id) => statuses.get(id) !== 'SUCCEEDED' && !lostIds.includes(id))
    .map((id) => `${id}: ${statuses.get(id)}`);
  return {
    terminal,
    lost,
    notSucceeded,
    duplicatedSteps,
    missingEpochs,
    summaryMismatches,
    unverifiedFinals,
    overLimit,
    resumed,
  };
}

/** The failed checks, one line each; empty when the soak passed. */
export function failures(v: ChaosVerdict): string[] {
  return [
    ...v.lost.map((id) => `run ${id} never reached a terminal state`),
    ...v.notSucceeded.map((line) => `run ${line} (SUCCEEDED expected)`),
    ...(v.duplicatedSteps > 0 ? [`${v.duplicatedSteps} duplicated (run, metric, step) points`] : []),
    ...v.missingEpochs.map((line) => `epoch metrics not one per epoch: ${line}`),
    ...v.summaryMismatches.map((line) => `summary disagrees with its points: ${line}`),
    ...v.unverifiedFinals.map((line) => `final checkpoint not verified: ${line}`),
    ...v.overLimit.map((line) => `over its limit: ${line}`),
  ];
}

import { RUN_KINDS, RUN_STATUSES } from '@trainyard/contracts';
import type { Database } from '@trainyard/db';
import type { TestApi } from './test-api';

/** Runs by `STATUS/KIND`, as the metric specs compare them. */
export type RunsByStatus = Record<string, number>;

/** Every `trainyard_runs` series of one `GET /metrics` scrape, by `STATUS/KIND`. */
export async function scrapedRunsByStatus(api: TestApi): Promise<RunsByStatus> {
  const res = await api.fetch(`${api.baseUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  const counts: RunsByStatus = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^trainyard_runs\{status="(\w+)",kind="(\w+)"\} (\d+)$/.exec(line);
    if (m) counts[`${m[1]}/${m[2]}`] = Number(m[3]);
  }
  return counts;
}

/** The same counts read straight from the runs table, every status and kind present (0 for none). */
export async function tableRunsByStatus(prisma: Database['prisma']): Promise<RunsByStatus> {
  const counts: RunsByStatus = {};
  for (const status of RUN_STATUSES) for (const kind of RUN_KINDS) counts[`${status}/${kind}`] = 0;
  const rows = await prisma.$queryRaw<{ key: string; n: number }[]>`
    SELECT "status"::text || '/' || "kind"::text AS key, count(*)::int AS n FROM "runs" GROUP BY 1`;
  for (const row of rows) counts[row.key] = row.n;
  return counts;
}

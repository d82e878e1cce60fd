import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from 'pg';
import { CatalogListsRepository } from './catalog-lists.repository';
import type { CatalogPage, CatalogPageQuery } from './catalog-page';
import { DatasetsRepository } from './datasets.repository';
import { PrismaClient } from './generated/prisma/client';
import { openDatabase } from './open-database';
import { listRuns, type RunListQuery } from './run-list.query';
import { createFreshDatabase, type FreshDatabase } from './testing';

/**
 * The list routes' statements, as the repositories send them, planned by PostgreSQL over a few
 * thousand rows per table (ANALYZEd): each page must be read through an index in its order, never
 * by reading the whole table and sorting it, which is what a list costs at a year's history
 * (`npm run bench:history`, docs/benchmarks.md "History at scale"). The statements are caught
 * with Prisma's query event, so model queries and $queryRaw alike are checked as sent.
 */

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Plan Rows': number;
  Plans?: PlanNode[];
}

const ROWS = 3000;
const PROJECTS = ['vision', 'speech', 'default'];
/** Tables whose lists are checked; a Seq Scan of one of them, or a Sort over more than this many rows of it, fails. */
const LISTED = ['runs', 'datasets', 'pipelines', 'sweeps', 'model_versions'];
const SORT_ROWS_MAX = 200;

describe('list queries at scale use an index in page order', () => {
  let fresh: FreshDatabase;
  let prisma: PrismaClient<'query'>;
  let pg: Client;
  const sent: { query: string; params: string }[] = [];

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    await (await openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: true })).close();
    pg = new Client({ connectionString: fresh.url });
    await pg.connect();
    await seed(pg);
    prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString: fresh.url }),
      log: [{ emit: 'event', level: 'query' }] as const,
    });
    prisma.$on('query', (event) => sent.push({ query: event.query, params: event.params }));
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await pg?.end();
    await fresh?.drop();
  });

  /** Runs `list` for the first page and the page after it; the plans of every statement it sent. */
  async function plansOf(list: (cursor?: string) => Promise<{ nextCursor: string | null }>) {
    sent.length = 0;
    const first = await list();
    expect(first.nextCursor).not.toBeNull();
    await list(first.nextCursor!);
    const plans: { sql: string; plan: PlanNode }[] = [];
    for (const { query, params } of sent) {
      const { rows } = await pg.query(`EXPLAIN (FORMAT JSON) ${query}`, JSON.parse(params) as unknown[]);
      plans.push({ sql: query, plan: (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan });
    }
    return plans;
  }

  const catalog = () => new CatalogListsRepository(prisma);
  const lists: [string, (q: CatalogPageQuery) => Promise<CatalogPage<unknown>>, string][] = [
    ['datasets', (q) => new DatasetsRepository(prisma).list(q), 'datasets'],
    ['pipelines', (q) => catalog().pipelines(q), 'pipelines'],
    ['sweeps', (q) => catalog().sweeps(q), 'sweeps'],
    ['models', (q) => catalog().models(q), 'model_versions'],
  ];
  describe.each(lists)('%s', (_name, list, table) => {
    it.each([
      ['one project', 'speech'],
      ['every project', undefined],
    ])('%s: read by an index, no Sort of the whole table', async (_what, project) => {
      const plans = await plansOf((cursor) => list({ project, limit: 25, cursor }));
      for (const { sql, plan } of plans) expect({ sql, problems: problemsOf(plan) }).toEqual({ sql, problems: [] });
      expect(plans.some(({ plan }) => indexScansOf(plan, table).length > 0)).toBe(true);
    });
  });

  it.each([
    ['one project', 'speech'],
    ['every project', undefined],
  ])('runs, newest first, %s: read by an index, no Sort of the whole table', async (_what, project) => {
    const query: RunListQuery = { project, sort: { by: 'createdAt' }, order: 'desc', limit: 25 };
    const plans = await plansOf((cursor) => listRuns(prisma, { ...query, cursor }));
    for (const { sql, plan } of plans) expect({ sql, problems: problemsOf(plan) }).toEqual({ sql, problems: [] });
    expect(plans.some(({ plan }) => indexScansOf(plan, 'runs').length > 0)).toBe(true);
  });
});

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

function indexScansOf(plan: PlanNode, table: string): PlanNode[] {
  return nodes(plan).filter((n) => n['Relation Name'] === table && /Index/.test(n['Node Type']));
}

/** A Seq Scan of a listed table, or a Sort of more than SORT_ROWS_MAX rows read from one. */
function problemsOf(plan: PlanNode): string[] {
  const problems: string[] = [];
  for (const node of nodes(plan)) {
    if (node['Node Type'] === 'Seq Scan' && LISTED.includes(node['Relation Name'] ?? ''))
      problems.push(`Seq Scan on ${node['Relation Name']}`);
    if (node['Node Type'] === 'Sort') {
      const input = node.Plans?.[0];
      const from = input ? nodes(input).find((n) => LISTED.includes(n['Relation Name'] ?? '')) : undefined;
      if (input && from && input['Plan Rows'] > SORT_ROWS_MAX)
        problems.push(`Sort of ${input['Plan Rows']} rows of ${from['Relation Name']}`);
    }
  }
  return problems;
}

/** ROWS of each listed kind over three projects and a year, in bulk; then ANALYZE. */
async function seed(pg: Client): Promise<void> {
  const project = (seed: string) => `(ARRAY['${PROJECTS.join("','")}'])[1 + abs(hashtext(${seed})) % 3]`;
  const created = `now() - interval '365 days' * (1 - i::float8 / ${ROWS})`;
  const uuid = (seed: string) => `overlay(overlay(md5(${seed}) placing '4' from 13) placing '8' from 17)::uuid`;
  await pg.query(`
    INSERT INTO "datasets" ("id", "name", "project", "location", "uri", "class_names", "counts", "created_at")
    SELECT ${uuid(`'ds' || i`)}, 'dataset-' || i, ${project(`'ds' || i`)}, jsonb_build_object('kind', 's3', 'prefix', 'd/' || i || '/'),
      's3://b/d/' || i || '/', ARRAY['a', 'b'], ARRAY[1, 2], ${created}
    FROM generate_series(1, ${ROWS}) i;
    INSERT INTO "pipelines" ("id", "name", "project", "status", "spec", "created_at")
    SELECT ${uuid(`'pl' || i`)}, 'pipeline ' || i, ${project(`'pl' || i`)}, 'SUCCEEDED', '{}', ${created}
    FROM generate_series(1, ${ROWS}) i;
    INSERT INTO "sweeps" ("id", "name", "project", "spec", "created_at")
    SELECT ${uuid(`'sw' || i`)}, 'sweep ' || i, ${project(`'sw' || i`)}, '{"strategy": "grid"}', ${created}
    FROM generate_series(1, ${ROWS}) i;
    INSERT INTO "runs" ("id", "kind", "status", "name", "spec", "project", "created_at", "pipeline_id", "sweep_id")
    SELECT ${uuid(`'run' || i`)}, 'FINETUNE', 'SUCCEEDED', 'run ' || i, '{}', ${project(`'run' || i`)}, ${created},
      CASE WHEN i % 2 = 0 THEN ${uuid(`'pl' || (i / 2)`)} END, CASE WHEN i % 2 = 1 THEN ${uuid(`'sw' || (i / 2 + 1)`)} END
    FROM generate_series(1, ${ROWS * 2}) i;
    INSERT INTO "checkpoints" ("id", "run_id", "sequence", "epoch", "step", "uri", "bytes", "sha256", "status", "models")
    SELECT ${uuid(`'ck' || i`)}, ${uuid(`'run' || i`)}, 1, 1, 1, 's3://b/c/' || i, 1, md5('x'), 'COMPLETE', ARRAY['classifier']
    FROM generate_series(1, ${ROWS}) i;
    INSERT INTO "model_versions" ("id", "name", "project", "version", "run_id", "checkpoint_id", "created_at")
    SELECT ${uuid(`'mv' || i`)}, 'model-' || (i / 3), r."project", 1 + i % 3, r."id", ${uuid(`'ck' || i`)}, ${created}
    FROM generate_series(1, ${ROWS}) i JOIN "runs" r ON r."id" = ${uuid(`'run' || i`)};
    ANALYZE;`);
}

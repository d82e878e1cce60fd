import { PrismaPg } from '@prisma/adapter-pg';
import { Client } from 'pg';
import { CatalogListsRepository } from './catalog-lists.repository';
import type { CatalogPage, CatalogPageQuery } from './catalog-page';
import { DatasetsRepository } from './datasets.repository';
import { PrismaClient } from './generated/prisma/client';
import { openDatabase } from './open-database';
import { METRIC_WALK_ROWS_PER_ROW, TAG_WALK_ROWS_PER_ROW, listRuns, type RunListQuery } from './run-list.query';
import { createFreshDatabase, type FreshDatabase } from './testing';

/**
 * The list routes' statements, as the repositories send them, planned by PostgreSQL over a few
 * thousand rows per table (ANALYZEd): each page must be read through an index in its order, never
 * by reading the whole table and sorting it, which is what a list costs at a year's history
 * (`npm run bench:history`, docs/benchmarks.md "History at scale"). Where a plan in page order
 * was not enough (a walk in order that finds nothing to keep), the statements are run under
 * EXPLAIN ANALYZE and the rows they read are counted. The statements are caught with Prisma's
 * query event, so model queries and $queryRaw alike are checked as sent.
 */

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Plan Rows': number;
  /** With ANALYZE: per loop, as the rows removed are. */
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}

const ROWS = 3000;
const PROJECTS = ['vision', 'speech', 'default'];
/** Tables whose lists are checked; a Seq Scan of one of them, or a Sort over more than this many rows of it, fails. */
const LISTED = ['runs', 'datasets', 'pipelines', 'sweeps', 'model_versions', 'metric_summaries'];
const SORT_ROWS_MAX = 200;
/** Runs i of 1..ROWS * 2 that failed (i % 47 = 0), and that have spec.optimizer = 'sgd' (i % 70 = 1). */
const FAILED = Math.floor((ROWS * 2) / 47);
const SGD = Math.floor((ROWS * 2 - 1) / 70) + 1;

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

  /**
   * Runs `list` for the first page and the page after it (if any: `expectMore` says there must be
   * one); the plans of every statement it sent, run again under EXPLAIN ANALYZE when `analyze`,
   * with the planner's `settings` (names of plan kinds to turn off, `enable_seqscan`: what a
   * table of a few thousand rows would make the cheaper plan, and is not at a year's history).
   */
  async function plansOf(
    list: (cursor?: string) => Promise<{ nextCursor: string | null }>,
    { analyze = false, expectMore = true, off = [] as string[] } = {},
  ) {
    sent.length = 0;
    const first = await list();
    if (expectMore) expect(first.nextCursor).not.toBeNull();
    if (first.nextCursor) await list(first.nextCursor);
    const plans: { sql: string; plan: PlanNode }[] = [];
    // Statements, not the transaction's BEGIN, COMMIT or a SET LOCAL.
    for (const setting of off) await pg.query(`SET ${setting} = off`);
    try {
      for (const { query, params } of sent.filter(({ query }) => /^\s*(SELECT|WITH)\b/i.test(query))) {
        const explain = analyze ? 'EXPLAIN (ANALYZE, FORMAT JSON)' : 'EXPLAIN (FORMAT JSON)';
        const { rows } = await pg.query(`${explain} ${query}`, JSON.parse(params) as unknown[]);
        plans.push({ sql: query, plan: (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan });
      }
    } finally {
      await pg.query('RESET ALL');
    }
    return plans;
  }

  /** Every run of the list, following nextCursor page by page. */
  async function allPages(list: (cursor?: string) => Promise<{ items: { id: string }[]; nextCursor: string | null }>) {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await list(cursor);
      ids.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return ids;
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

  describe.each(['best', 'last', 'min', 'max'] as const)('runs by a metric, stat %s', (stat) => {
    it.each([
      ['one project', 'speech', 'asc'],
      ['every project', undefined, 'desc'],
    ] as const)('%s: read by the stat index in page order, no Sort of the metric', async (_what, project, order) => {
      const query: RunListQuery = { project, sort: { by: 'metric', metric: 'val_loss', stat }, order, limit: 25 };
      // Run, for the branch taken: the filter's runs are read only when the walk finds too few.
      const plans = await plansOf((cursor) => listRuns(prisma, { ...query, cursor }), { analyze: true });
      for (const { sql, plan } of plans) {
        expect({ sql, problems: problemsOf(plan, { executedOnly: true }) }).toEqual({ sql, problems: [] });
        // The walk answered: the filter's runs are neither read nor planned (planned with the walk,
        // their estimate for a broad filter put the statement past jit_above_cost at 200,000 runs).
        expect({ sql, filtered: readsFilteredRuns(plan) || sql.includes('"filtered"') }).toEqual({
          sql,
          filtered: false,
        });
      }
      const walks = plans.flatMap(({ plan }) =>
        executed(plan).filter((n) => n['Relation Name'] === 'metric_summaries'),
      );
      expect(walks.map((n) => n['Index Name'])).toContain(`metric_summaries_name_${stat}_run_id_idx`);
    });
  });

  // Reads, not plans: what was slow at a year's history was a plan walking an index for rows that
  // were never found, so each statement is run (ANALYZE) and the rows it read are counted.
  it('runs of a kind that never records the metric, by that metric: the metric is not walked', async () => {
    const query: RunListQuery = {
      kind: 'PRETRAIN',
      sort: { by: 'metric', metric: 'test/accuracy', stat: 'best' },
      order: 'desc',
      limit: 25,
    };
    const plans = await plansOf((cursor) => listRuns(prisma, { ...query, cursor }), { analyze: true });
    for (const { sql, plan } of plans) {
      expect({ sql, problems: problemsOf(plan, { executedOnly: true }) }).toEqual({ sql, problems: [] });
      // The runs without the metric, by id: about 26 / 0.3 runs read (bounded at three times that),
      // each probed for the metric (no row found), and the page's own summaries (one a run here) for
      // its items; walking the metric read its 4,200 summaries.
      expect({ sql, summaries: rowsRead(plan, 'metric_summaries') <= 2 * 26 }).toEqual({ sql, summaries: true });
      expect({ sql, runs: rowsRead(plan, 'runs') <= 10 * 26 }).toEqual({ sql, runs: true });
    }
  });

  // test/accuracy is written by succeeded fine-tunes only: no failed run has it, nor any run with
  // spec.optimizer=sgd (pretrains). val_loss is recorded by one failed run in 47, under the walk's
  // one in 40. The statement that walked every summary of the metric (about 4,000 and a run lookup
  // each) must walk a bounded share, then read the filter's runs from their index.
  it.each([
    ['status FAILED, by a metric no failed run has', { status: 'FAILED' }, 'test/accuracy', FAILED],
    [
      'spec.optimizer=sgd, by a metric no such run has',
      { spec: [{ path: ['optimizer'], value: 'sgd' }] },
      'test/accuracy',
      SGD,
    ],
    ['status FAILED, by a metric one failed run in 47 has', { status: 'FAILED' }, 'val_loss', FAILED],
  ] as const)("runs of %s: a bounded walk, then the filter's runs", async (_what, filter, metric, matching) => {
    const limit = 5;
    const query: RunListQuery = {
      ...(filter as Partial<RunListQuery>),
      sort: { by: 'metric', metric, stat: 'best' },
      order: 'desc',
      limit,
    };
    const plans = await plansOf((cursor) => listRuns(prisma, { ...query, cursor }), {
      analyze: true,
      expectMore: metric === 'val_loss',
    });
    const walked = (limit + 1) * METRIC_WALK_ROWS_PER_ROW;
    // The statement of the runs with the metric (phase 1); those without it follow by id (phase 2).
    const withMetric = plans.filter(
      ({ sql }) => sql.includes('FROM "metric_summaries" s') && !sql.includes('NOT EXISTS'),
    );
    expect(withMetric.length).toBeGreaterThan(0);
    for (const { sql, plan } of withMetric)
      expect({ sql, problems: problemsOf(plan, { executedOnly: true }) }).toEqual({ sql, problems: [] });
    // Per page (one, or two with the cursor): the walk (summaries and their runs), the walk counted
    // again (summaries), the filter's runs and a probe of each for its summary. Within the bound, or
    // the rows read: the statement that walked read every summary of the metric.
    const pages = metric === 'val_loss' ? 2 : 1;
    const read = (table: string) => withMetric.reduce((sum, { plan }) => sum + rowsRead(plan, table), 0);
    const within = (rows: number, bound: number) => (rows <= bound ? 'within' : rows);
    expect(within(read('metric_summaries'), pages * (2 * walked + matching))).toBe('within');
    expect(within(read('runs'), pages * (walked + matching))).toBe('within');
    expect(withMetric.some(({ plan }) => readsFilteredRuns(plan))).toBe(true);
  });

  it("runs of an id prefix, by a metric: the prefix's runs, not a walk of the metric", async () => {
    const query: RunListQuery = {
      idPrefix: '1903',
      sort: { by: 'metric', metric: 'val_loss', stat: 'best' },
      order: 'asc',
      limit: 5,
    };
    const plans = await plansOf((cursor) => listRuns(prisma, { ...query, cursor }), {
      analyze: true,
      expectMore: false,
    });
    const withMetric = plans.filter(
      ({ sql }) => sql.includes('FROM "metric_summaries" s') && !sql.includes('NOT EXISTS'),
    );
    expect(withMetric).toHaveLength(1);
    // The prefix's runs (one or two of 6,000) and a probe each; a walk read 240 summaries and runs.
    const plan = withMetric[0]!.plan;
    expect(rowsRead(plan, 'metric_summaries') + rowsRead(plan, 'runs')).toBeLessThanOrEqual(10);
  });

  it.each([
    ['no run has both', ['ablation', 'baseline'], undefined],
    ['one run in 97 has both', ['ablation', 'v2'], 'speech'],
  ])('runs with two tags, %s: a bounded walk, then the tags index', async (_what, tags, project) => {
    const limit = 5;
    const query: RunListQuery = { project, tags, sort: { by: 'createdAt' }, order: 'desc', limit };
    const plans = await plansOf((cursor) => listRuns(prisma, { ...query, cursor }), {
      analyze: true,
      expectMore: false,
    });
    for (const { sql, plan } of plans) {
      expect({ sql, problems: problemsOf(plan, { executedOnly: true }) }).toEqual({ sql, problems: [] });
      // Twice the walk (found, then counted), which reads three runs for one of a project's, and the
      // runs with the tags. Reading every run (ROWS * 2) for them, as before, is well above.
      const bound = 2 * 3 * (limit + 1) * TAG_WALK_ROWS_PER_ROW + (ROWS * 2) / 97;
      expect({ sql, runs: rowsRead(plan, 'runs') <= bound }).toEqual({ sql, runs: true });
    }
    const indexesRead = plans.flatMap(({ plan }) => executed(plan).map((n) => n['Index Name']));
    expect(indexesRead).toContain('runs_tags_idx');
  });

  it("runs whose name holds a text (q): the names' trigram index can answer the statement as sent", async () => {
    // "run 123" and "run 1230" to "run 1239": 11 runs of ROWS * 2, whose pages read every run before
    // (100–230 ms a statement at 200,000 runs). Over these few thousand the planner rightly prefers a
    // Seq Scan; at a year's history it takes the index by itself (docs/benchmarks.md, "History at
    // scale"): here the table scans are turned off, and the statement must still find an index
    // that answers its ILIKE, its escapes included, reading only the runs that hold the text.
    // One page holds them (a later page's cursor is a range of runs_created_at_id_idx the planner may
    // rightly prefer when few runs are older).
    const query: RunListQuery = { search: 'run 123', sort: { by: 'createdAt' }, order: 'desc', limit: 20 };
    const plans = await plansOf((cursor) => listRuns(prisma, { ...query, cursor }), {
      analyze: true,
      expectMore: false,
      off: ['enable_seqscan', 'enable_indexscan'],
    });
    for (const { sql, plan } of plans) {
      expect({ sql, problems: problemsOf(plan, { executedOnly: true }) }).toEqual({ sql, problems: [] });
      expect({ sql, runs: rowsRead(plan, 'runs') <= 2 * 11 }).toEqual({ sql, runs: true });
    }
    const indexesRead = plans.flatMap(({ plan }) => executed(plan).map((n) => n['Index Name']));
    expect(indexesRead).toContain('runs_name_trgm_idx');
    expect((await allPages((cursor) => listRuns(prisma, { ...query, cursor }))).length).toBe(11);
  });

  describe('pages hold the same runs in the same order as one ORDER BY over every run', () => {
    const reference = async (sql: string, values: unknown[]) =>
      (await pg.query<{ id: string }>(sql, values)).rows.map((row) => row.id);

    it.each([
      [['ablation', 'v2'], 'speech', 'desc'],
      [['ablation', 'v2'], undefined, 'asc'],
      [['prod', 'v2'], 'speech', 'asc'],
      [['ablation', 'baseline'], undefined, 'desc'],
    ] as const)('tags %j, project %s, %s', async (tags, project, order) => {
      const query: RunListQuery = { project, tags: [...tags], sort: { by: 'createdAt' }, order, limit: 7 };
      const expected = await reference(
        `SELECT id::text AS id FROM runs WHERE tags @> $1::text[] AND ($2::text IS NULL OR project = $2) AND archived_at IS NULL
         ORDER BY created_at ${order}, id ${order}`,
        [tags, project ?? null],
      );
      expect(await allPages((cursor) => listRuns(prisma, { ...query, cursor }))).toEqual(expected);
    });

    it.each([
      ['val_loss', 'last', 'FINETUNE', 'asc'],
      ['val_loss', 'min', 'PRETRAIN', 'desc'],
      ['val_loss', 'max', undefined, 'asc'],
      ['val_loss', 'best', 'FINETUNE', 'desc'],
      ['test/accuracy', 'best', 'PRETRAIN', 'desc'],
      ['test/accuracy', 'last', 'FINETUNE', 'asc'],
    ] as const)('%s:%s, kind %s, %s (runs without it last, by id)', async (metric, stat, kind, order) => {
      const query: RunListQuery = {
        project: 'speech',
        kind,
        sort: { by: 'metric', metric, stat },
        order,
        limit: 50,
      };
      const expected = await reference(
        `SELECT r.id::text AS id FROM runs r LEFT JOIN metric_summaries s ON s.run_id = r.id AND s.name = $1
         WHERE r.project = 'speech' AND ($2::"RunKind" IS NULL OR r.kind = $2) AND r.archived_at IS NULL
         ORDER BY s.run_id IS NULL, s."${stat}" ${order}, r.id ${order}`,
        [metric, kind ?? null],
      );
      expect(expected.length).toBeGreaterThan(500);
      expect(await allPages((cursor) => listRuns(prisma, { ...query, cursor }))).toEqual(expected);
    });

    // Filters few or none of the metric's runs pass (the walk, then the filter's runs, page after
    // page) and filters many pass (the walk alone), each with the SQL condition it stands for.
    const sgd = [{ path: ['optimizer'], value: 'sgd' }];
    it.each([
      ['test/accuracy', 'best', 'desc', { status: 'FAILED' }, `r.status = 'FAILED'`, 15],
      ['val_loss', 'best', 'asc', { status: 'FAILED' }, `r.status = 'FAILED'`, 15],
      [
        'val_loss',
        'last',
        'desc',
        { status: 'FAILED', project: 'vision' },
        `r.status = 'FAILED' AND r.project = 'vision'`,
        15,
      ],
      ['test/accuracy', 'max', 'asc', { spec: sgd }, `r.spec @> '{"optimizer": "sgd"}'`, 15],
      ['val_loss', 'min', 'desc', { spec: sgd }, `r.spec @> '{"optimizer": "sgd"}'`, 15],
      ['test/accuracy', 'best', 'desc', { search: 'run 12' }, `r.name ILIKE '%run 12%'`, 15],
      [
        'val_loss',
        'best',
        'asc',
        { search: 'RUN 1', status: 'FAILED' },
        `r.name ILIKE '%run 1%' AND r.status = 'FAILED'`,
        15,
      ],
      ['test/accuracy', 'last', 'asc', { idPrefix: '1903' }, `r.id::text LIKE '1903%'`, 1],
      ['val_loss', 'best', 'asc', { tags: ['ablation', 'v2'] }, `r.tags @> ARRAY['ablation', 'v2']`, 15],
      [
        'val_loss',
        'max',
        'desc',
        { kind: 'FINETUNE', search: 'run 2' },
        `r.kind = 'FINETUNE' AND r.name ILIKE '%run 2%'`,
        15,
      ],
    ] as const)('%s:%s, %s, filters %j', async (metric, stat, order, filter, condition, least) => {
      const query: RunListQuery = {
        ...(filter as Partial<RunListQuery>),
        sort: { by: 'metric', metric, stat },
        order,
        limit: 7,
      };
      const expected = await reference(
        `SELECT r.id::text AS id FROM runs r LEFT JOIN metric_summaries s ON s.run_id = r.id AND s.name = $1
         WHERE ${condition} AND r.archived_at IS NULL
         ORDER BY s.run_id IS NULL, s."${stat}" ${order}, r.id ${order}`,
        [metric],
      );
      expect(expected.length).toBeGreaterThanOrEqual(least);
      expect(await allPages((cursor) => listRuns(prisma, { ...query, cursor }))).toEqual(expected);
    });
  });
});

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Nodes that ran (of an ANALYZE plan): a gated branch or CTE that was not needed has no loops. */
function executed(plan: PlanNode): PlanNode[] {
  return plan['Actual Loops'] === 0 ? [] : [plan, ...(plan.Plans ?? []).flatMap(executed)];
}

/** Whether the filter's runs were read for a metric page (its `filtered` CTE ran). */
function readsFilteredRuns(plan: PlanNode): boolean {
  return executed(plan).some((n) => n['Subplan Name'] === 'CTE filtered');
}

function indexScansOf(plan: PlanNode, table: string): PlanNode[] {
  return nodes(plan).filter((n) => n['Relation Name'] === table && /Index/.test(n['Node Type']));
}

/** Rows the scans of `table` read (returned or filtered out), in an ANALYZE plan. */
function rowsRead(plan: PlanNode, table: string): number {
  return executed(plan)
    .filter((n) => n['Relation Name'] === table)
    .reduce(
      (sum, n) =>
        sum +
        ((n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0)) *
          (n['Actual Loops'] ?? 1),
      0,
    );
}

/**
 * A Seq Scan of a listed table, or a Sort of more than SORT_ROWS_MAX rows read from one; of the
 * nodes that ran, and the rows they sorted, when `executedOnly` (an ANALYZE plan).
 */
function problemsOf(plan: PlanNode, { executedOnly = false } = {}): string[] {
  const problems: string[] = [];
  for (const node of executedOnly ? executed(plan) : nodes(plan)) {
    if (node['Node Type'] === 'Seq Scan' && LISTED.includes(node['Relation Name'] ?? ''))
      problems.push(`Seq Scan on ${node['Relation Name']}`);
    if (node['Node Type'] === 'Sort') {
      const input = node.Plans?.[0];
      const from = input ? nodes(input).find((n) => LISTED.includes(n['Relation Name'] ?? '')) : undefined;
      // Of an ANALYZE plan, the rows it sorted: a gated branch's Sort runs, on no rows.
      const rows = executedOnly ? (input?.['Actual Rows'] ?? 0) * (input?.['Actual Loops'] ?? 1) : input?.['Plan Rows'];
      if (input && from && rows !== undefined && rows > SORT_ROWS_MAX)
        problems.push(`Sort of ${rows} rows of ${from['Relation Name']}`);
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
    INSERT INTO "runs" ("id", "kind", "status", "name", "spec", "project", "created_at", "pipeline_id", "sweep_id", "tags")
    SELECT ${uuid(`'run' || i`)}, CASE WHEN i % 10 < 3 THEN 'PRETRAIN' ELSE 'FINETUNE' END::"RunKind",
      CASE WHEN i % 47 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END::"RunStatus", 'run ' || i,
      jsonb_build_object('name', 'run ' || i, 'notes', repeat('x', 400), 'optimizer', CASE WHEN i % 70 = 1 THEN 'sgd' ELSE 'adam' END), ${project(`'run' || i`)}, ${created},
      CASE WHEN i % 2 = 0 THEN ${uuid(`'pl' || (i / 2)`)} END, CASE WHEN i % 2 = 1 THEN ${uuid(`'sw' || (i / 2 + 1)`)} END,
      CASE WHEN i % 97 = 0 THEN ARRAY['ablation', 'v2'] WHEN i % 5 = 0 THEN ARRAY[]::text[] WHEN i % 5 = 1 THEN ARRAY['baseline']
        WHEN i % 5 = 2 THEN ARRAY['prod', 'v2'] WHEN i % 5 = 3 THEN ARRAY['ablation'] ELSE ARRAY['v2'] END
    FROM generate_series(1, ${ROWS * 2}) i;
    -- val_loss of every run but one in 11, test/accuracy of succeeded fine-tunes only: many ties, a few NaN.
    INSERT INTO "metric_summaries" ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step")
    SELECT ${uuid(`'run' || i`)}, 'val_loss', 'min', 5, CASE WHEN i % 499 = 0 THEN 'NaN' ELSE (i % 37) / 10.0 END,
      5, (i % 41) / 10.0, (i % 43) / 10.0, (i % 41) / 10.0, 3
    FROM generate_series(1, ${ROWS * 2}) i WHERE i % 11 <> 0;
    INSERT INTO "metric_summaries" ("run_id", "name", "goal", "count", "last", "last_step", "min", "max", "best", "best_step")
    SELECT ${uuid(`'run' || i`)}, 'test/accuracy', 'max', 1, (i % 29) / 100.0, 1, (i % 29) / 100.0, (i % 29) / 100.0,
      (i % 29) / 100.0, 1
    FROM generate_series(1, ${ROWS * 2}) i WHERE i % 10 >= 3 AND i % 47 <> 0;
    INSERT INTO "checkpoints" ("id", "run_id", "sequence", "epoch", "step", "uri", "bytes", "sha256", "status", "models")
    SELECT ${uuid(`'ck' || i`)}, ${uuid(`'run' || i`)}, 1, 1, 1, 's3://b/c/' || i, 1, md5('x'), 'COMPLETE', ARRAY['classifier']
    FROM generate_series(1, ${ROWS}) i;
    INSERT INTO "model_versions" ("id", "name", "project", "version", "run_id", "checkpoint_id", "created_at")
    SELECT ${uuid(`'mv' || i`)}, 'model-' || (i / 3), r."project", 1 + i % 3, r."id", ${uuid(`'ck' || i`)}, ${created}
    FROM generate_series(1, ${ROWS}) i JOIN "runs" r ON r."id" = ${uuid(`'run' || i`)};
    ANALYZE;`);
}

import { Client } from 'pg';
import { findMigrationsDir, migrate, readMigrations } from './migrator';
import { pgConnection } from './sql-connection';
import { createFreshDatabase, type FreshDatabase } from './testing';

// Migration 20261206190000_test_metrics: the runs that SUCCEEDED before test scores became metrics
// get them from their stored result, so sorting by `test/accuracy` finds them too.
describe('the test-metrics backfill (PostgreSQL)', () => {
  const migrations = readMigrations(findMigrationsDir());
  const backfill = migrations.findIndex((m) => m.name === '20261206190000_test_metrics');
  let fresh: FreshDatabase;
  let client: Client;

  beforeAll(async () => {
    fresh = await createFreshDatabase();
    client = new Client({ connectionString: fresh.url });
    await client.connect();
  });
  afterAll(async () => {
    await client.end();
    await fresh.drop();
  });

  it('writes a point, a rollup and a summary per score of each SUCCEEDED run, and nothing for the others', async () => {
    expect(backfill).toBeGreaterThan(0);
    await migrate(pgConnection(client), migrations.slice(0, backfill));
    const selection = { last: { epoch: 4, step: 39, sequence: 4, validation: null } };
    const runs: [string, string, string, unknown][] = [
      [
        '00000000-0000-4000-8000-000000000001',
        'FINETUNE',
        'SUCCEEDED',
        { accuracy: 0.9, macroF1: 0.85, samples: 40, classNames: ['a'], selection },
      ],
      ['00000000-0000-4000-8000-000000000002', 'PRETRAIN', 'SUCCEEDED', { split: 'test', samples: 10, mse: 0.02 }],
      ['00000000-0000-4000-8000-000000000003', 'FINETUNE', 'FAILED', { accuracy: 0.5 }],
      ['00000000-0000-4000-8000-000000000004', 'FINETUNE', 'SUCCEEDED', null],
    ];
    for (const [id, kind, status, result] of runs)
      await client.query(
        `INSERT INTO runs (id, kind, status, name, spec, result, ended_at) VALUES ($1, $2, $3, 'r', '{}', $4, '2026-12-01T00:00:00Z')`,
        [id, kind, status, result === null ? null : JSON.stringify(result)],
      );

    await migrate(pgConnection(client), migrations);

    const points = await client.query(
      `SELECT run_id::text AS run, name, step, epoch, value, wall_time = '2026-12-01T00:00:00Z' AS at_end FROM metric_points ORDER BY run_id, name`,
    );
    expect(points.rows).toEqual([
      { run: runs[0]![0], name: 'test/accuracy', step: 39, epoch: 4, value: 0.9, at_end: true },
      { run: runs[0]![0], name: 'test/macroF1', step: 39, epoch: 4, value: 0.85, at_end: true },
      { run: runs[1]![0], name: 'test/mse', step: 0, epoch: 0, value: 0.02, at_end: true },
    ]);
    const summaries = await client.query(
      `SELECT run_id::text AS run, name, goal, count, best, best_step, last_step FROM metric_summaries ORDER BY run_id, name`,
    );
    expect(summaries.rows).toEqual([
      { run: runs[0]![0], name: 'test/accuracy', goal: 'max', count: 1, best: 0.9, best_step: 39, last_step: 39 },
      { run: runs[0]![0], name: 'test/macroF1', goal: 'max', count: 1, best: 0.85, best_step: 39, last_step: 39 },
      { run: runs[1]![0], name: 'test/mse', goal: 'min', count: 1, best: 0.02, best_step: 0, last_step: 0 },
    ]);
    const rollups = await client.query(`SELECT name, count, last_value FROM metric_rollups ORDER BY run_id, name`);
    expect(rollups.rows.map((r) => [r.name, r.count, r.last_value])).toEqual([
      ['test/accuracy', 1, 0.9],
      ['test/macroF1', 1, 0.85],
      ['test/mse', 1, 0.02],
    ]);
  });
});

import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { RunSpec } from '@trainyard/contracts';
import { openDatabase, RunsRepository, type Database } from '@trainyard/db';
import { createFreshDatabase } from '@trainyard/db/testing';

/** A bench's own PostgreSQL database, fresh and migrated, through Prisma and through one pg client. */
export interface BenchDatabase {
  database: Database;
  pg: Client;
  runs: RunsRepository;
  /** Records a new pretrain run (its spec is a stub: nothing the benches measure reads it); its id. */
  newRun(): Promise<string>;
}

/** Runs `fn` on a fresh database of its own, closed and dropped after, whatever `fn` did. */
export async function withBenchDatabase(fn: (bench: BenchDatabase) => Promise<void>): Promise<void> {
  const fresh = await createFreshDatabase();
  const database = await openDatabase({ url: fresh.url, embeddedPath: '' }, { migrate: true });
  const pg = new Client({ connectionString: fresh.url });
  await pg.connect();
  try {
    const spec = { kind: 'pretrain', name: 'bench' } as unknown as RunSpec;
    const runs = new RunsRepository(database.prisma);
    const newRun = async () =>
      (await runs.create({ id: randomUUID(), kind: 'PRETRAIN', name: 'bench', spec, baseRunId: null })).id;
    await fn({ database, pg, runs, newRun });
  } finally {
    await pg.end();
    await database.close();
    await fresh.drop();
  }
}

import { openDatabase, type Database } from '../open-database';
import { createFreshDatabase, type FreshDatabase } from './fresh-database';

/**
 * Gives the calling suite a fresh database of its own, migrated and opened in `beforeAll` (then
 * handed to `setup`), closed and dropped in `afterAll`.
 */
export function useMigratedDatabase(setup: (db: Database) => Promise<void> | void): void {
  let fresh: FreshDatabase | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    fresh = await createFreshDatabase();
    db = await openDatabase({ url: fresh.url, embeddedPath: '' });
    await setup(db);
  });
  afterAll(async () => {
    await db?.close();
    await fresh?.drop();
  });
}

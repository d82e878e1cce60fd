import type { TrainyardConfig } from '@trainyard/config';
import * as db from '@trainyard/db';
import { InfrastructureModule } from './infrastructure.module';

/** Every class libs/db exports under a `…Repository` name. */
function repositoriesOfLibsDb(): string[] {
  return Object.entries(db)
    .filter(([name, value]) => name.endsWith('Repository') && typeof value === 'function')
    .map(([name]) => name)
    .sort();
}

/**
 * Both apps take their repositories from this module only, so one that is missing here ends up
 * provided a second way by an app (as the catalog lists were, once per API module).
 */
describe('InfrastructureModule', () => {
  it('provides and exports every repository of libs/db', () => {
    const module = InfrastructureModule.forRoot({} as TrainyardConfig, { role: 'api', queueName: 'unused' });
    const exported = (module.exports ?? [])
      .filter((token) => typeof token === 'function')
      .map((token) => (token as { name: string }).name);
    const repositories = repositoriesOfLibsDb();
    expect(repositories.length).toBeGreaterThan(10);
    expect(repositories.filter((name) => !exported.includes(name))).toEqual([]);
  });
});

import { openDatabase, type Database } from '../open-database';
import { startFreezableProxy, type FreezableProxy } from './freezable-proxy';
import { createFreshDatabase, type FreshDatabase } from './fresh-database';

/** A fresh database reached two ways: `direct` for the test, `proxied` for the code under test, through `proxy`. */
export interface DatabaseBehindProxy {
  direct: Database;
  proxied: Database;
  proxy: FreezableProxy;
}

/**
 * Gives the calling suite a fresh, migrated database of its own and a FreezableProxy in front of
 * it, opened in `beforeAll` (then handed to `setup`): the code under test reaches it through the
 * proxy with deadlines of `timeoutMs` (a query's and a connection's), so a frozen or restarting
 * database fails its calls fast; the test keeps a direct connection. All closed and dropped in
 * `afterAll`, the proxy first put back.
 */
export function useDatabaseBehindProxy(
  setup: (opened: DatabaseBehindProxy) => Promise<void> | void,
  timeoutMs = 1000,
): void {
  let fresh: FreshDatabase | undefined;
  let opened: Partial<DatabaseBehindProxy> = {};
  beforeAll(async () => {
    fresh = await createFreshDatabase();
    const direct = await openDatabase({ url: fresh.url, embeddedPath: '' });
    const url = new URL(fresh.url);
    const proxy = await startFreezableProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    opened = { direct, proxy };
    const proxied = await openDatabase(
      { url: url.toString(), embeddedPath: '', queryTimeoutMs: timeoutMs, connectTimeoutMs: timeoutMs },
      { migrate: false },
    );
    opened.proxied = proxied;
    await setup({ direct, proxied, proxy });
  });
  afterAll(async () => {
    opened.proxy?.thaw();
    opened.proxy?.back();
    await opened.proxied?.close();
    await opened.direct?.close();
    await opened.proxy?.close();
    await fresh?.drop();
  });
}

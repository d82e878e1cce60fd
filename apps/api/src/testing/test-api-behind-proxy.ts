import { startFreezableProxy, TEST_POSTGRES_ADMIN_URL, type FreezableProxy } from '@trainyard/db/testing';
import { startTestApi, type TestApi } from './test-api';

/**
 * The test API reaching its fresh database through a proxy in front of the real PostgreSQL, which
 * a test can freeze (stop forwarding, as a stalled server or a silent partition) and thaw.
 */
export async function startTestApiBehindProxy(
  env: Record<string, string> = {},
): Promise<{ api: TestApi; proxy: FreezableProxy }> {
  const server = new URL(TEST_POSTGRES_ADMIN_URL);
  const proxy = await startFreezableProxy({ host: server.hostname, port: Number(server.port || 5432) });
  const api = await startTestApi({
    databaseUrl: (fresh) => {
      const url = new URL(fresh);
      url.port = String(proxy.port);
      return url.toString();
    },
    env,
  });
  return { api, proxy };
}

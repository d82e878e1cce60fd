// Test-only helpers, deliberately not exported from the lib's main entry point.
export { createFreshDatabase, TEST_POSTGRES_ADMIN_URL, type FreshDatabase } from './fresh-database';
export { authorizedFetch, testAdminKey } from './authorized-fetch';
export { serverSentEvents, type ServerSentEvent } from './server-sent-events';
export { freePort } from './free-port';
export { useMigratedDatabase } from './migrated-database';
export { startFreezableProxy, type FreezableProxy } from './freezable-proxy';
export { useDatabaseBehindProxy, type DatabaseBehindProxy } from './database-behind-proxy';
export { createConnectionLimitedRole, type ConnectionLimitedRole } from './connection-limited-role';

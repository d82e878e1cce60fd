export { createApiApp, type ApiOptions } from './create-api-app';
// For a process that also hosts a worker (the demo): `app.get<Database>(DATABASE)` shares the open database.
export { DATABASE } from '@trainyard/infrastructure';

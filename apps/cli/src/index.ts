// What tools (the e2e tests, the pretraining experiment) use of the CLI app: the HTTP client
// (its home is @trainyard/client) and the embedded server it starts for the demo.
export { TrainyardClient } from '@trainyard/client';
export { embeddedAdminKey, startEmbeddedServer, waitUntilReady } from './embedded-process';

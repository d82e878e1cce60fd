// What tools (the e2e tests, the pretraining experiment) use of the CLI app: its HTTP client and
// the embedded server it starts for the demo.
export { TrainyardClient } from './api-client';
export { embeddedAdminKey, startEmbeddedServer, waitUntilReady } from './embedded-process';

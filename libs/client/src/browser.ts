// The browser-safe entry of @trainyard/client: the transport and every route typed by the
// contracts, without the zod validation layer (response-schemas.ts) or any `node:` module. The
// dashboard imports it; tools/build-dashboard.mjs compiles these files for the browser and
// refuses to serve any module that imports zod or `node:`.
export {
  TrainyardClientCore,
  type ApiKeyCreation,
  type CallOptions,
  type PageQuery,
  type RunListQuery,
  type RunLogQuery,
  type TrainyardClientCoreOptions,
} from './trainyard-client-core';
export type { ResponseContract, ResponseContracts, ResponseValidator } from './response-contracts';
export { StreamEndedEarlyError, TrainyardApiError } from './trainyard-api.error';
export { serverSentEvents, type ServerSentEvent } from './server-sent-events';
export { queueWaitParts } from './queue-wait-text';
export { defaultLimitText, projectLimitText } from './project-limit-text';
export { DEFAULT_RETRY_POLICY, retryAfterMs, retryDelayMs, type RetryPolicy } from './retry-policy';

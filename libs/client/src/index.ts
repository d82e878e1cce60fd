export {
  TrainyardClient,
  type ApiKeyCreation,
  type CallOptions,
  type PageQuery,
  type RunListQuery,
  type RunLogQuery,
  type TrainyardClientOptions,
} from './trainyard-client';
export { TrainyardApiError } from './trainyard-api.error';
export { serverSentEvents, type ServerSentEvent } from './server-sent-events';
export { DEFAULT_RETRY_POLICY, retryAfterMs, retryDelayMs, type RetryPolicy } from './retry-policy';

// The Node entry of @trainyard/client: the browser-safe core (browser.ts) and TrainyardClient,
// which adds validation of answers with the contracts' zod schemas.
export * from './browser';
export { TrainyardClient, type TrainyardClientOptions } from './trainyard-client';
export { RESPONSE_SCHEMAS, zodResponseValidator } from './response-schemas';

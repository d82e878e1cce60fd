import type { HTTP_CONTRACTS, RunLogLine } from '@trainyard/contracts';
import type { z } from 'zod';

type HttpContracts = typeof HTTP_CONTRACTS;

/**
 * Every answer the client reads as JSON, by the name of its contract: the API's response
 * contracts (HTTP_CONTRACTS, as OpenAPI names them) and a followed log's line. Types only: the
 * transport (TrainyardClientCore) names the contract of each call, and a validator given to it
 * (the zod one in response-schemas.ts, which only the Node entry loads) checks the value — so a
 * browser build of the core carries no schema and no zod.
 */
export type ResponseContracts = { [K in keyof HttpContracts]: z.output<HttpContracts[K]> } & {
  RunLogLine: RunLogLine;
};

export type ResponseContract = keyof ResponseContracts;

/** Checks an answer against its contract: returns it (parsed) or throws. */
export type ResponseValidator = <K extends ResponseContract>(contract: K, value: unknown) => ResponseContracts[K];

import { HTTP_CONTRACTS, RunLogLineSchema } from '@trainyard/contracts';
import type { z } from 'zod';
import type { ResponseContract, ResponseContracts, ResponseValidator } from './response-contracts';

/**
 * The zod schema of every contract the client reads: the optional validation layer of the Node
 * entry (index.ts). It loads zod and every contract schema (about 480 KB minified): the browser
 * entry (browser.ts) never imports this module.
 */
export const RESPONSE_SCHEMAS: { [K in ResponseContract]: z.ZodType<ResponseContracts[K]> } = {
  ...HTTP_CONTRACTS,
  RunLogLine: RunLogLineSchema,
};

/** Parses each answer with its contract's schema, throwing zod's error on a mismatch. */
export const zodResponseValidator: ResponseValidator = (contract, value) => RESPONSE_SCHEMAS[contract].parse(value);

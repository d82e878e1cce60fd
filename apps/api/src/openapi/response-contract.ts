import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiProduces, ApiResponse } from '@nestjs/swagger';
import type { HttpContractName } from '@trainyard/contracts';
import { schemaRef } from './openapi-schemas';

export const RESPONSE_CONTRACT = 'trainyard:response-contract';

/** What a route answers when it succeeds: a JSON body of a contract, or something else. */
export type ResponseContract = { status: number; contract: HttpContractName } | { status: number; notJson: string };

/**
 * The route answers `status` with a JSON body of `contract` (libs/contracts/src/http). OpenAPI
 * documents it from the contract's zod schema, and http-contracts.int-spec.ts parses the route's
 * real answer with it; a JSON route without this decorator fails that test.
 */
export function Responds(status: number, contract: HttpContractName, description?: string): MethodDecorator {
  const contractOf: ResponseContract = { status, contract };
  return applyDecorators(
    SetMetadata(RESPONSE_CONTRACT, contractOf),
    ApiResponse({ status, description: description ?? contract, schema: schemaRef(contract) }),
  );
}

/** The route answers something that is not a JSON document (`mediaType`: an event stream, a file, an image, no body). */
export function RespondsWithoutJson(status: number, mediaType: string, description?: string): MethodDecorator {
  const contractOf: ResponseContract = { status, notJson: mediaType };
  const documented = ApiResponse({ status, description: description ?? mediaType });
  return applyDecorators(
    SetMetadata(RESPONSE_CONTRACT, contractOf),
    ...(status === 204 ? [documented] : [ApiProduces(mediaType), documented]),
  );
}

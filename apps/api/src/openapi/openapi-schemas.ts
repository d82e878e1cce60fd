import {
  EvaluateSpecSchema,
  FinetuneSpecSchema,
  PretrainSpecSchema,
  RunUpdateSchema,
  type HttpContractName,
} from '@trainyard/contracts';
import { z } from 'zod';
import { pipelineAndSweepSpecSchemas } from './pipeline-sweep-schemas';
import { responseContractSchemas } from './response-schemas';

type JsonSchema = Record<string, unknown>;

/** The request bodies documented beside the response contracts. */
type RequestSchemaName =
  'PretrainSpec' | 'FinetuneSpec' | 'EvaluateSpec' | 'RunSpec' | 'PipelineSpec' | 'SweepSpec' | 'RunUpdate';

/** A `$ref` into the document's components, for `@ApiBody`/`@ApiResponse`. */
export function schemaRef(name: RequestSchemaName | HttpContractName): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

/**
 * Component schemas for /docs, all generated from zod: the request bodies from the schemas the
 * validation pipes use (`io: 'input'`: what a client may send, defaulted fields optional), the
 * responses from libs/contracts/src/http (what the API answers and its tests parse answers with),
 * so the documentation cannot drift from either.
 */
export function openApiComponentSchemas(): Record<string, JsonSchema> {
  const spec = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as JsonSchema;
  const requests: Record<RequestSchemaName, JsonSchema> = {
    PretrainSpec: spec(PretrainSpecSchema),
    FinetuneSpec: spec(FinetuneSpecSchema),
    EvaluateSpec: spec(EvaluateSpecSchema),
    RunSpec: {
      oneOf: [schemaRef('PretrainSpec'), schemaRef('FinetuneSpec'), schemaRef('EvaluateSpec')],
      discriminator: {
        propertyName: 'kind',
        mapping: {
          pretrain: schemaRef('PretrainSpec').$ref,
          finetune: schemaRef('FinetuneSpec').$ref,
          evaluate: schemaRef('EvaluateSpec').$ref,
        },
      },
    },
    ...pipelineAndSweepSpecSchemas(),
    RunUpdate: spec(RunUpdateSchema),
  };
  return { ...requests, ...responseContractSchemas() };
}

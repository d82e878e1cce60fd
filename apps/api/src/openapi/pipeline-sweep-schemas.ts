import { PipelineSpecSchema, SWEEP_PARAMETERS, SweepSpecSchema, SweepValuesSchema } from '@trainyard/contracts';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

const inputSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as JsonSchema;

/** A step's `kind` is implied by where it sits (the schemas preprocess it in), so a client may leave it out. */
function kindOptional(schema: JsonSchema): JsonSchema {
  const required = (schema.required as string[] | undefined)?.filter((key) => key !== 'kind');
  return { ...schema, required };
}

function property(schema: JsonSchema, key: string): JsonSchema {
  return (schema.properties as Record<string, JsonSchema>)[key]!;
}

/** POST /v1/pipelines, from the zod schema the validation pipe uses. */
function pipelineSpec(): JsonSchema {
  const schema = inputSchema(PipelineSpecSchema);
  const finetunes = property(schema, 'finetunes');
  return {
    ...schema,
    properties: {
      ...(schema.properties as JsonSchema),
      pretrain: kindOptional(property(schema, 'pretrain')),
      finetunes: {
        ...finetunes,
        description:
          "Fine-tunes of the pretrain's encoder: leave model.baseRunId, baseModel and importedModel out (the base is the pretrain)",
        items: kindOptional(finetunes.items as JsonSchema),
      },
    },
  };
}

/**
 * POST /v1/sweeps. zod writes `parameters` (a partial record over an enum of keys) as a bare
 * map, since OpenAPI 3.0 has no propertyNames: name the keys it accepts instead.
 */
function sweepSpec(): JsonSchema {
  const schema = inputSchema(SweepSpecSchema);
  const values = inputSchema(SweepValuesSchema);
  return {
    ...schema,
    properties: {
      ...(schema.properties as JsonSchema),
      base: kindOptional(property(schema, 'base')),
      parameters: {
        type: 'object',
        description: 'The fields to vary (at least one): a list of values, or {min, max, log?} for strategy "random"',
        minProperties: 1,
        additionalProperties: false,
        properties: Object.fromEntries(SWEEP_PARAMETERS.map((key) => [key, values])),
      },
    },
  };
}

/** The request bodies of POST /v1/pipelines and POST /v1/sweeps; their answers are response contracts. */
export function pipelineAndSweepSpecSchemas(): { PipelineSpec: JsonSchema; SweepSpec: JsonSchema } {
  return { PipelineSpec: pipelineSpec(), SweepSpec: sweepSpec() };
}

import { EvaluateSpecSchema, FinetuneSpecSchema, PretrainSpecSchema, RUN_KINDS, RUN_STATUSES } from '@trainyard/contracts';
import { z } from 'zod';
import { pipelineAndSweepSchemas } from './pipeline-sweep-schemas';

type JsonSchema = Record<string, unknown>;

/** A `$ref` into the document's components, for `@ApiBody`/`@ApiResponse`. */
export function schemaRef(name: string): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

const FieldErrorSchema: JsonSchema = {
  type: 'object',
  required: ['field', 'message'],
  properties: {
    field: { type: 'string', example: 'training.learningRate' },
    message: { type: 'string', example: 'Too big: expected number to be <=1' },
  },
};

/**
 * Component schemas for /docs. The run spec schemas are generated from the same zod schemas
 * the validation pipe and the worker use, so the documentation cannot drift from what is
 * accepted; `io: 'input'` documents what a client may send (defaulted fields optional).
 */
export function openApiComponentSchemas(): Record<string, JsonSchema> {
  const spec = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as JsonSchema;
  return {
    PretrainSpec: spec(PretrainSpecSchema),
    FinetuneSpec: spec(FinetuneSpecSchema),
    EvaluateSpec: spec(EvaluateSpecSchema),
    RunSpec: {
      oneOf: [schemaRef('PretrainSpec'), schemaRef('FinetuneSpec'), schemaRef('EvaluateSpec')],
      discriminator: {
        propertyName: 'kind',
        mapping: { pretrain: schemaRef('PretrainSpec').$ref, finetune: schemaRef('FinetuneSpec').$ref, evaluate: schemaRef('EvaluateSpec').$ref },
      },
    },
    RunCreated: {
      type: 'object',
      required: ['id', 'status'],
      properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string', enum: [...RUN_STATUSES] } },
    },
    FieldError: FieldErrorSchema,
    ValidationError: {
      type: 'object',
      required: ['statusCode', 'message', 'errors'],
      properties: {
        statusCode: { type: 'integer', example: 400 },
        error: { type: 'string', example: 'Bad Request' },
        message: { type: 'string', example: 'Invalid run spec' },
        errors: { type: 'array', items: schemaRef('FieldError') },
      },
    },
    RunPage: {
      type: 'object',
      required: ['items', 'nextCursor'],
      properties: {
        items: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string', format: 'uuid' },
              kind: { type: 'string', enum: [...RUN_KINDS] },
              status: { type: 'string', enum: [...RUN_STATUSES] },
              name: { type: 'string' },
              summaries: { type: 'array', items: { type: 'object' } },
            },
          },
        },
        nextCursor: { type: 'string', nullable: true },
      },
    },
    ...pipelineAndSweepSchemas(),
  };
}

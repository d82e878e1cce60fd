import { PIPELINE_STATUSES, PipelineSpecSchema, RUN_KINDS, RUN_STATUSES, SWEEP_PARAMETERS, SweepSpecSchema, SweepValuesSchema } from '@trainyard/contracts';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
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
        description: "Fine-tunes of the pretrain's encoder: leave model.baseRunId, baseModel and importedModel out (the base is the pretrain)",
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

const uuid = { type: 'string', format: 'uuid' };
const nullableUuid = { ...uuid, nullable: true };
const timestamp = { type: 'string', format: 'date-time' };

/** Component schemas of the pipeline and sweep endpoints, merged into the document by openApiComponentSchemas. */
export function pipelineAndSweepSchemas(): Record<string, JsonSchema> {
  return {
    PipelineSpec: pipelineSpec(),
    SweepSpec: sweepSpec(),
    PipelineRun: {
      type: 'object',
      description: 'A step of a pipeline: a run row linked by pipelineId',
      properties: {
        id: uuid,
        kind: { type: 'string', enum: [...RUN_KINDS] },
        name: { type: 'string' },
        status: { type: 'string', enum: [...RUN_STATUSES] },
        held: { type: 'boolean', description: 'Waiting for its upstream step; it is queued when that step SUCCEEDS' },
        baseRunId: { ...nullableUuid, description: 'The upstream step' },
        baseCheckpointId: { ...nullableUuid, description: 'The checkpoint of the upstream step it starts from, pinned when released' },
        pipelineId: uuid,
        cancelRequested: { type: 'boolean' },
        failureReason: { type: 'string', nullable: true },
        spec: { type: 'object' },
        result: { type: 'object', nullable: true },
      },
    },
    Pipeline: {
      type: 'object',
      required: ['id', 'name', 'status', 'runs'],
      properties: {
        id: uuid,
        name: { type: 'string' },
        status: { type: 'string', enum: [...PIPELINE_STATUSES] },
        failureReason: { type: 'string', nullable: true, description: 'Why it FAILED or was CANCELLED: the step and its reason, or the cancel request' },
        spec: ref('PipelineSpec'),
        createdAt: timestamp,
        updatedAt: timestamp,
        endedAt: { ...timestamp, nullable: true },
        runs: { type: 'array', description: 'In step order: pretrain, fine-tunes, evaluations', items: ref('PipelineRun') },
      },
    },
    SweepCreated: {
      type: 'object',
      required: ['id', 'runs'],
      properties: { id: uuid, runs: { type: 'integer', description: 'Fine-tune runs recorded and queued' } },
    },
    Sweep: {
      type: 'object',
      required: ['id', 'name', 'metric', 'goal', 'counts', 'leaderboard'],
      properties: {
        id: uuid,
        name: { type: 'string' },
        createdAt: timestamp,
        spec: ref('SweepSpec'),
        metric: { type: 'string', example: 'test/accuracy' },
        goal: { type: 'string', enum: ['max', 'min'] },
        counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Runs by status', example: { SUCCEEDED: 3, RUNNING: 1 } },
        leaderboard: {
          type: 'array',
          description: 'Best first; runs without a value last, unranked',
          items: {
            type: 'object',
            properties: {
              rank: { type: 'integer', nullable: true },
              runId: uuid,
              name: { type: 'string' },
              status: { type: 'string', enum: [...RUN_STATUSES] },
              failureReason: { type: 'string', nullable: true },
              params: { type: 'object', additionalProperties: { anyOf: [{ type: 'number' }, { type: 'string' }, { type: 'boolean' }] } },
              value: { type: 'number', nullable: true },
            },
          },
        },
      },
    },
  };
}

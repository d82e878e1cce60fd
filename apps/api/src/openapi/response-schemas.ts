import { HTTP_CONTRACTS } from '@trainyard/contracts';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

/** Formats whose zod regex adds nothing a reader of the document needs. */
const NAMED_FORMATS = new Set(['uuid', 'date-time']);

/**
 * The response contracts as OpenAPI 3.0 component schemas, generated from the zod schemas the
 * API answers with and its tests parse answers with, so the document cannot drift from them. A
 * contract used inside another is referred to by name (`#/components/schemas/CheckpointView`).
 */
export function responseContractSchemas(): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(HTTP_CONTRACTS)) registry.add(schema as z.ZodType, { id });
  const { schemas } = z.toJSONSchema(registry, {
    target: 'openapi-3.0',
    uri: (id) => `#/components/schemas/${id}`,
    override: ({ jsonSchema }) => {
      if (typeof jsonSchema.format === 'string' && NAMED_FORMATS.has(jsonSchema.format)) delete jsonSchema.pattern;
    },
  }) as { schemas: Record<string, JsonSchema> };
  // `$id` is JSON Schema's, not OpenAPI 3.0's: the component's name already says it.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $id: _id, ...schema }]) => [id, schema]));
}

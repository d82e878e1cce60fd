import { openApiComponentSchemas } from './openapi-schemas';

type JsonSchema = Record<string, unknown>;

/** Every `$ref` anywhere below `value`. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner),
  );
}

describe('the OpenAPI component schemas', () => {
  const components = openApiComponentSchemas();

  it('documents the PATCH /v1/runs/:id body from RunUpdateSchema, not by hand', () => {
    const update = components['RunUpdate'] as JsonSchema & { properties: Record<string, JsonSchema> };
    expect(Object.keys(update.properties).sort()).toEqual(['addTags', 'name', 'notes', 'removeTags', 'tags']);
    // What only the zod schema knows: no other key, the limits of each field.
    expect(update.additionalProperties).toBe(false);
    expect(update.properties['notes']).toMatchObject({ nullable: true, maxLength: expect.any(Number) });
    expect(update.properties['tags']).toMatchObject({ type: 'array', maxItems: expect.any(Number) });
    expect(update.properties['addTags']).toMatchObject({ type: 'array', maxItems: expect.any(Number) });
  });

  it('documents GET /v1/datasets as a keyset page of rows with their classes counted, not every class name', () => {
    const list = components['DatasetList'] as JsonSchema & { properties: Record<string, JsonSchema> };
    expect(list.required).toEqual(['items', 'nextCursor']);
    expect(list.properties['items']).toMatchObject({ items: { $ref: '#/components/schemas/DatasetSummary' } });
    const row = components['DatasetSummary'] as JsonSchema & { properties: Record<string, JsonSchema> };
    expect(row.properties['classCount']).toMatchObject({ type: 'integer' });
    expect(row.properties['firstClassNames']).toMatchObject({ type: 'array', maxItems: 10 });
    expect(row.properties['classNames']).toBeUndefined();
    expect(row.properties['counts']).toBeUndefined();
  });

  it('refers only to components it holds', () => {
    const missing = refsIn(components)
      .map((ref) => ref.replace('#/components/schemas/', ''))
      .filter((name) => !(name in components));
    expect([...new Set(missing)]).toEqual([]);
  });
});

import { z } from 'zod';
import {
  HTTP_CONTRACTS,
  RunCreatedSchema,
  RunDetailViewSchema,
  RunListItemViewSchema,
  isoDate,
  isId,
  finiteOrNull,
} from './index';

function componentSchemas(): Record<string, Record<string, unknown>> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(HTTP_CONTRACTS)) registry.add(schema as z.ZodType, { id });
  return (
    z.toJSONSchema(registry, { target: 'openapi-3.0', uri: (id) => `#/components/schemas/${id}` }) as {
      schemas: Record<string, Record<string, unknown>>;
    }
  ).schemas;
}

describe('HTTP contracts', () => {
  it('become OpenAPI 3.0 components, one per contract, referring to each other by name', () => {
    const schemas = componentSchemas();
    expect(Object.keys(schemas).sort()).toEqual(Object.keys(HTTP_CONTRACTS).sort());
    const detail = JSON.stringify(schemas['RunDetailView']);
    expect(detail).toContain('"$ref":"#/components/schemas/CheckpointView"');
    expect(schemas['RunView']).toMatchObject({ additionalProperties: false });
    expect(JSON.stringify(schemas['RunView'])).toContain('"format":"date-time"');
  });

  it('refuse a view with a field too many or one missing', () => {
    expect(RunCreatedSchema.safeParse({ id: '6f1c2a9e-3b9d-4c1e-9f0a-0b1c2d3e4f50', status: 'QUEUED' }).success).toBe(
      true,
    );
    expect(
      RunCreatedSchema.safeParse({ id: '6f1c2a9e-3b9d-4c1e-9f0a-0b1c2d3e4f50', status: 'QUEUED', extra: 1 }).success,
    ).toBe(false);
    expect(RunCreatedSchema.safeParse({ id: '6f1c2a9e-3b9d-4c1e-9f0a-0b1c2d3e4f50' }).success).toBe(false);
    // Derived views stay strict.
    const codes = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error?.issues.map((i) => i.code) ?? [];
    expect(codes(RunDetailViewSchema, { extra: 1 })).toContain('unrecognized_keys');
    expect(codes(RunListItemViewSchema, { spec: {} })).toContain('unrecognized_keys');
  });

  it('write dates as toISOString does and non-finite values as null, as JSON.stringify would', () => {
    const date = new Date('2026-12-05T07:11:15.123Z');
    expect(isoDate(date)).toBe(JSON.parse(JSON.stringify(date)));
    expect(isoDate(null)).toBeNull();
    expect([NaN, Infinity, -Infinity, 0.5, null].map(finiteOrNull)).toEqual([null, null, null, 0.5, null]);
  });

  it('tells an id from anything else, whatever its case, and nothing around it', () => {
    expect(['3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b', '3F2B8C1E-9A4D-4E6F-8B2A-1C3D5E7F9A0B'].map(isId)).toEqual([
      true,
      true,
    ]);
    const refused = [
      '',
      'x',
      '__proto__',
      '3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0',
      '3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b\n',
    ];
    expect([...refused, ' 3f2b8c1e-9a4d-4e6f-8b2a-1c3d5e7f9a0b', 42, null, undefined, {}].map(isId)).toEqual(
      Array(refused.length + 5).fill(false),
    );
  });
});

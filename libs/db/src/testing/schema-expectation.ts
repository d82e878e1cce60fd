import type { DmmfDatamodel, DmmfField, DmmfModel } from './prisma-dmmf';

/**
 * What PostgreSQL should hold for a Prisma data model, spelled the way pg_catalog reports it
 * (format_type, pg_get_expr), following Prisma's naming conventions for constraints and indexes.
 */
export interface ColumnShape {
  type: string;
  nullable: boolean;
  default: string | null;
}
export interface IndexShape {
  table: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
}
export interface ForeignKeyShape {
  table: string;
  columns: string[];
  references: string;
  referencedColumns: string[];
  onDelete: string;
  onUpdate: string;
}
export interface SchemaShape {
  enums: Record<string, string[]>;
  tables: Record<string, Record<string, ColumnShape>>;
  indexes: Record<string, IndexShape>;
  foreignKeys: Record<string, ForeignKeyShape>;
}

const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  Boolean: 'boolean',
  Json: 'jsonb',
  Bytes: 'bytea',
  DateTime: 'timestamp(3) without time zone',
};

const NATIVE_TYPES: Record<string, (args: string[]) => string> = {
  Uuid: () => 'uuid',
  Text: () => 'text',
  Timestamptz: ([p = '6']) => `timestamp(${p}) with time zone`,
  Timestamp: ([p = '6']) => `timestamp(${p}) without time zone`,
  VarChar: ([n]) => (n ? `character varying(${n})` : 'character varying'),
  Integer: () => 'integer',
  BigInt: () => 'bigint',
  DoublePrecision: () => 'double precision',
  JsonB: () => 'jsonb',
};

const ACTIONS: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

const quoteIdent = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

export function expectedSchema(dm: DmmfDatamodel): SchemaShape {
  const tableOf = new Map(dm.models.map((m) => [m.name, m.dbName ?? m.name]));
  const columnOf = (model: DmmfModel, field: string) => {
    const f = model.fields.find((x) => x.name === field);
    if (!f) throw new Error(`${model.name}.${field} not in the DMMF`);
    return f.dbName ?? f.name;
  };
  const modelByName = new Map(dm.models.map((m) => [m.name, m]));
  const enumDbName = new Map(dm.enums.map((e) => [e.name, e.dbName ?? e.name]));

  const shape: SchemaShape = { enums: {}, tables: {}, indexes: {}, foreignKeys: {} };
  for (const e of dm.enums) shape.enums[e.dbName ?? e.name] = e.values.map((v) => v.dbName ?? v.name);

  for (const model of dm.models) {
    const table = model.dbName ?? model.name;
    const columns: Record<string, ColumnShape> = {};
    for (const field of model.fields) {
      if (field.kind === 'object') continue;
      const column = field.dbName ?? field.name;
      columns[column] = {
        type: columnType(field, enumDbName) + (field.isList ? '[]' : ''),
        // Prisma never declares NOT NULL on scalar lists; ours are NOT NULL when they have a
        // default (`@default([])`, e.g. runs.tags), since Prisma never writes NULL to a list.
        nullable: !field.isRequired || (field.isList && !field.hasDefaultValue),
        default: columnDefault(field, table, column, enumDbName),
      };
    }
    shape.tables[table] = columns;

    for (const field of model.fields) {
      if (field.kind !== 'object' || !field.relationFromFields?.length) continue;
      const cols = field.relationFromFields.map((f) => columnOf(model, f));
      const target = modelByName.get(field.type);
      if (!target) throw new Error(`Relation ${model.name}.${field.name} targets unknown model ${field.type}`);
      shape.foreignKeys[`${table}_${cols.join('_')}_fkey`] = {
        table,
        columns: cols,
        references: tableOf.get(field.type) ?? field.type,
        referencedColumns: (field.relationToFields ?? []).map((f) => columnOf(target, f)),
        // Prisma's defaults: Restrict for required relations, SetNull for optional; Cascade on update.
        onDelete: ACTIONS[field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull')] ?? '?',
        onUpdate: ACTIONS[field.relationOnUpdate ?? 'Cascade'] ?? '?',
      };
    }
  }

  for (const index of dm.indexes) {
    const model = modelByName.get(index.model);
    if (!model) throw new Error(`Index on unknown model ${index.model}`);
    const table = model.dbName ?? model.name;
    const cols = index.fields.map((f) => columnOf(model, f.name));
    const suffix = index.type === 'id' ? 'pkey' : index.type === 'unique' ? 'key' : 'idx';
    const name = index.dbName ?? (index.type === 'id' ? `${table}_pkey` : `${table}_${cols.join('_')}_${suffix}`);
    shape.indexes[name] = { table, columns: cols, unique: index.type !== 'normal', primary: index.type === 'id' };
  }
  return shape;
}

function columnType(field: DmmfField, enumDbName: Map<string, string>): string {
  if (field.kind === 'enum') return quoteIdent(enumDbName.get(field.type) ?? field.type);
  if (field.nativeType) {
    const [name, args] = field.nativeType;
    const native = NATIVE_TYPES[name];
    if (!native) throw new Error(`Native type @db.${name} is not mapped in schema-expectation.ts yet`);
    return native(args);
  }
  const scalar = SCALAR_TYPES[field.type];
  if (!scalar) throw new Error(`Prisma type ${field.type} is not mapped in schema-expectation.ts yet`);
  return scalar;
}

function columnDefault(
  field: DmmfField,
  table: string,
  column: string,
  enumDbName: Map<string, string>,
): string | null {
  if (!field.hasDefaultValue) return null;
  const value = field.default;
  if (field.isList) {
    if (Array.isArray(value) && value.length === 0) return `'{}'::${columnType(field, enumDbName)}[]`;
    // PostgreSQL shows ARRAY['any']::TEXT[] as ARRAY['any'::text].
    if (Array.isArray(value) && value.every((v) => typeof v === 'string') && field.type === 'String')
      return `ARRAY[${value.map((v) => `'${String(v).replace(/'/g, "''")}'::text`).join(', ')}]`;
    throw new Error(`List default ${JSON.stringify(value)} is not mapped in schema-expectation.ts yet`);
  }
  if (value && typeof value === 'object' && 'name' in value) {
    const fn = (value as { name: string }).name;
    if (fn === 'now') return 'CURRENT_TIMESTAMP';
    if (fn === 'autoincrement') return `nextval('${table}_${column}_seq'::regclass)`;
    if (fn === 'uuid' || fn === 'cuid' || fn === 'nanoid' || fn === 'ulid') return null; // generated by the client
    if (fn === 'dbgenerated') return String((value as unknown as { args: unknown[] }).args[0] ?? '');
    throw new Error(`Default function ${fn}() is not mapped in schema-expectation.ts yet`);
  }
  if (field.kind === 'enum') return `'${String(value)}'::${quoteIdent(enumDbName.get(field.type) ?? field.type)}`;
  // The DMMF carries a BigInt's default as a string of digits; PostgreSQL shows the number.
  if (field.type === 'BigInt' && typeof value === 'string' && /^-?\d+$/.test(value)) return value;
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'::text`;
  return String(value);
}

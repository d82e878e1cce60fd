import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Prisma's own reading of schema.prisma (the DMMF), offline. The generated client only keeps a
 * thin runtime model (no nullability, native types or indexes), and @prisma/prisma-schema-wasm is
 * not installed on its own; the prisma CLI bundles the same wasm module with its wasm-bindgen
 * glue inlined, so this file is a minimal copy of that glue for the one call we need.
 */

export interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  isList: boolean;
  isRequired: boolean;
  isId: boolean;
  isUnique: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  hasDefaultValue: boolean;
  default?: unknown;
  isUpdatedAt: boolean;
  relationName?: string;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

export interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  primaryKey: { name: string | null; fields: string[] } | null;
}

export interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: { name: string }[];
}

export interface DmmfDatamodel {
  models: DmmfModel[];
  enums: { name: string; dbName: string | null; values: { name: string; dbName: string | null }[] }[];
  indexes: DmmfIndex[];
}

// The project compiles without DOM typings (lib ES2022), and @types/node 20 does not declare the
// WebAssembly global, so the few members used here are typed locally.
interface WasmTable {
  get(index: number): unknown;
  set(index: number, value: unknown): void;
  grow(delta: number): number;
}
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; imports(module: object): { name: string }[] };
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface SchemaWasmExports {
  memory: { buffer: ArrayBuffer };
  __wbindgen_externrefs: WasmTable;
  __wbindgen_malloc(size: number, align: number): number;
  __wbindgen_free(ptr: number, size: number, align: number): void;
  __externref_table_dealloc(index: number): void;
  __wbindgen_start(): void;
  get_dmmf(ptr: number, len: number): [number, number, number, number];
}

export function getDmmf(prismaSchema: string): DmmfDatamodel {
  const wasm = loadSchemaWasm();
  const input = new TextEncoder().encode(JSON.stringify({ prismaSchema, noColor: true }));
  const ptr = wasm.__wbindgen_malloc(input.length, 1) >>> 0;
  new Uint8Array(wasm.memory.buffer).set(input, ptr);
  const [outPtr, outLen, errRef, failed] = wasm.get_dmmf(ptr, input.length);
  if (failed) {
    const error = wasm.__wbindgen_externrefs.get(errRef) as Error;
    wasm.__externref_table_dealloc(errRef);
    throw new Error(`Prisma could not read the schema: ${error.message}`);
  }
  const json = decode(wasm, outPtr, outLen);
  wasm.__wbindgen_free(outPtr, outLen, 1);
  return (JSON.parse(json) as { datamodel: DmmfDatamodel }).datamodel;
}

function decode(wasm: SchemaWasmExports, ptr: number, len: number): string {
  return new TextDecoder('utf-8').decode(new Uint8Array(wasm.memory.buffer).subarray(ptr >>> 0, (ptr >>> 0) + len));
}

let instance: SchemaWasmExports | undefined;

function loadSchemaWasm(): SchemaWasmExports {
  if (instance) return instance;
  const wasmPath = join(dirname(require.resolve('prisma/package.json')), 'build', 'prisma_schema_build_bg.wasm');
  const module = new WebAssemblyApi.Module(readFileSync(wasmPath));
  // The imports need the instance's memory, which exists only once the instance does.
  const late: { exports?: SchemaWasmExports } = {};
  const text = (ptr: number, len: number) => decode(late.exports as SchemaWasmExports, ptr, len);
  // Import names carry a build hash (e.g. __wbg_Error_e83987f665cf5504); match on their stem.
  const imports: Record<string, (...args: never[]) => unknown> = {};
  for (const { name } of WebAssemblyApi.Module.imports(module)) {
    if (name.startsWith('__wbg_Error')) imports[name] = (ptr: number, len: number) => new Error(text(ptr, len));
    else if (name.includes('wbindgen_throw')) {
      imports[name] = (ptr: number, len: number) => {
        throw new Error(text(ptr, len));
      };
    } else if (name.startsWith('__wbg_set_message'))
      imports[name] = () => undefined; // panic text; the throw carries it
    else if (name === '__wbindgen_init_externref_table') {
      imports[name] = () => {
        const table = (late.exports as SchemaWasmExports).__wbindgen_externrefs;
        const offset = table.grow(4);
        table.set(0, undefined);
        table.set(offset, undefined);
        table.set(offset + 1, null);
        table.set(offset + 2, true);
        table.set(offset + 3, false);
      };
    } else {
      throw new Error(`prisma_schema_build_bg.wasm wants an import this loader lacks: ${name} (prisma upgraded?)`);
    }
  }
  const exports = new WebAssemblyApi.Instance(module, { __wbindgen_placeholder__: imports })
    .exports as SchemaWasmExports;
  late.exports = exports;
  exports.__wbindgen_start();
  instance = exports;
  return exports;
}

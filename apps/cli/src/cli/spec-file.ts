import { readFileSync } from 'node:fs';
import {
  PipelineSpecSchema,
  RunSpecSchema,
  SweepSpecSchema,
  type PipelineSpecInput,
  type RunSpecInput,
  type SweepSpecInput,
} from '@trainyard/contracts';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';

export type SpecKind = 'run' | 'pipeline' | 'sweep';
export type LoadedSpec =
  | { kind: 'run'; spec: RunSpecInput }
  | { kind: 'pipeline'; spec: PipelineSpecInput }
  | { kind: 'sweep'; spec: SweepSpecInput };

/** A problem of a spec file, located: `file:line:column: field: message`. */
export interface SpecProblem {
  line: number;
  column: number;
  field: string;
  message: string;
}

export class SpecFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: SpecProblem[],
  ) {
    super(
      problems.map((p) => `${file}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`).join('\n'),
    );
  }
}

const SCHEMAS: Record<SpecKind, z.ZodType> = {
  run: RunSpecSchema,
  pipeline: PipelineSpecSchema,
  sweep: SweepSpecSchema,
};

/** Which spec a document is: a run names its `kind`, a pipeline has `finetunes`, a sweep `parameters`. */
export function specKindOf(value: unknown): SpecKind {
  const o = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if ('finetunes' in o || 'pretrain' in o) return 'pipeline';
  if ('parameters' in o || 'strategy' in o || 'base' in o) return 'sweep';
  return 'run';
}

export function loadSpecFile(file: string, kind?: SpecKind): LoadedSpec {
  return parseSpecText(readFileSync(file, 'utf8'), file, kind);
}

/**
 * Parses YAML or JSON (YAML's parser reads both and keeps every node's offsets), then validates
 * with the contracts' schema the API uses, so a bad spec is refused here with the line and
 * column of the field rather than by the API with only its path.
 */
export function parseSpecText(text: string, file: string, kind?: SpecKind): LoadedSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new SpecFileError(
      file,
      doc.errors.map((e) => {
        const at = lines.linePos(e.pos[0]);
        return { line: at.line, column: at.col, field: '', message: e.message.split('\n')[0] };
      }),
    );
  }
  const value: unknown = doc.toJS();
  const chosen = kind ?? specKindOf(value);
  const result = SCHEMAS[chosen].safeParse(value);
  if (!result.success) {
    throw new SpecFileError(
      file,
      result.error.issues.flatMap((issue) => {
        const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [null];
        return keys.map((key) => {
          const full = key === null ? path : [...path, key];
          const at = lines.linePos(offsetOf(doc, full));
          return {
            line: at.line,
            column: at.col,
            field: full.join('.') || '(root)',
            message: key === null ? issue.message : 'Unknown field',
          };
        });
      }),
    );
  }
  // The API fills in defaults itself: send what the file says, now known to be valid.
  return { kind: chosen, spec: value } as LoadedSpec;
}

/** Where the deepest node of `path` that exists starts: the key of a named field, else its value, else its nearest parent. */
function offsetOf(doc: Document, path: (string | number)[]): number {
  let node: Node | null = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair) return offset;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value as Node | null;
      continue;
    }
    const child: unknown = node && 'items' in node ? (node as { items: unknown[] }).items[Number(step)] : undefined;
    if (!child || typeof child !== 'object' || !('range' in child)) return offset;
    node = child as Node;
    offset = node.range?.[0] ?? offset;
  }
  return offset;
}

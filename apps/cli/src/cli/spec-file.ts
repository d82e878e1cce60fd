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
import { orList } from './command';

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

/** The top-level fields that make a document a pipeline or a sweep; a run has none of them. */
const KIND_FIELDS = { pipeline: ['pretrain', 'finetunes'], sweep: ['parameters', 'strategy', 'base'] } as const;

const fieldsOf = (value: unknown) =>
  (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;

/** Which spec a document is: a run names its `kind`, a pipeline has `finetunes`, a sweep `parameters`. */
export function specKindOf(value: unknown): SpecKind {
  const o = fieldsOf(value);
  if (KIND_FIELDS.pipeline.some((f) => f in o)) return 'pipeline';
  if (KIND_FIELDS.sweep.some((f) => f in o)) return 'sweep';
  return 'run';
}

/**
 * A --kind the document is not, said as such: the schema of the kind asked for would list every
 * field the document lacks or has too many, none of which is what is wrong.
 */
function kindMismatch(file: string, asked: SpecKind, found: SpecKind, value: unknown): SpecProblem {
  const o = fieldsOf(value);
  const why =
    found !== 'run'
      ? `it has ${KIND_FIELDS[found].filter((f) => f in o).join(', ')}`
      : typeof o['kind'] === 'string'
        ? `it has kind: ${o['kind']}`
        : `it has no ${orList(KIND_FIELDS[asked as 'pipeline' | 'sweep'])}`;
  return {
    line: 1,
    column: 1,
    field: '',
    message: `--kind ${asked}, but ${file} looks like a ${found} spec (${why}), not a ${asked} spec: submit it without --kind (the kind is read from the file) or with --kind ${found}`,
  };
}

/** How a spec's text is read: strict JSON, or YAML (which reads most JSON too, and more). */
export type SpecFormat = 'json' | 'yaml';

/** What a spec's name says it is: `.json` is JSON, anything else YAML. */
export function specFormatOf(file: string): SpecFormat {
  return /\.json$/i.test(file) ? 'json' : 'yaml';
}

/** What a spec's text is when nothing names it (stdin): JSON when it opens with `{`, else YAML. */
export function specFormatOfText(text: string): SpecFormat {
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/**
 * Parses the text as `format` says: JSON with JSON's own rules (YAML's parser would take
 * `{ "epochs": 1, }`, and a JSON file is expected to be JSON), YAML with YAML's; YAML's parser
 * reads either for where each node starts. Then validates with the contracts' schema the API
 * uses, so a bad spec is refused here with the line and column of the field rather than by the
 * API with only its path.
 */
export function parseSpecText(
  text: string,
  file: string,
  kind?: SpecKind,
  format: SpecFormat = specFormatOf(file),
): LoadedSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problem = (offset: number, message: string): SpecProblem => {
    const at = lines.linePos(offset);
    return { line: at.line, column: at.col, field: '', message };
  };
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new SpecFileError(file, [jsonSyntaxProblem(text, (error as Error).message, problem)]);
    }
    // Valid JSON, but a key twice: JSON.parse keeps the last silently, YAML's parser says where.
    const twice = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY');
    if (twice.length)
      throw new SpecFileError(
        file,
        twice.map((e) => problem(e.pos[0], e.message.split('\n')[0]!)),
      );
  } else {
    if (doc.errors.length)
      throw new SpecFileError(
        file,
        doc.errors.map((e) => problem(e.pos[0], e.message.split('\n')[0]!)),
      );
    value = doc.toJS();
  }
  const chosen = kind ?? specKindOf(value);
  const result = SCHEMAS[chosen].safeParse(value);
  if (!result.success && kind !== undefined && specKindOf(value) !== kind)
    throw new SpecFileError(file, [kindMismatch(file, kind, specKindOf(value), value)]);
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

/**
 * JSON.parse's complaint located: V8 says "… in JSON at position N" (or nothing, at the end of
 * the text); the line and column are counted here, as for YAML, not read from its words.
 */
function jsonSyntaxProblem(
  text: string,
  message: string,
  problem: (offset: number, message: string) => SpecProblem,
): SpecProblem {
  const position = /\bat position (\d+)/.exec(message);
  const offset = position ? Number(position[1]) : text.length;
  const what = message.replace(/\s*(in JSON )?at position \d+.*$/s, '').replace(/^SyntaxError: /, '');
  return problem(Math.min(offset, text.length), `${what} (not valid JSON)`);
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

import { escapeText, type RunSpec, RunSpecSchema, splitAsRecorded } from '@trainyard/contracts';
import { InvalidTrainingInputError } from './invalid-training-input.error';

/**
 * A run spec as it was stored, checked with RunSpecSchema as the API checks what it stores. A
 * spec stored before the bidirectional overrides were refused in text (a run named with U+202E)
 * is checked again with every string escaped (`\u202e` as text: names are what such characters
 * were in) and trains under those escaped names, `onEscaped` told what was refused, rather than
 * failing on its next attempt for a rule it was never held to. An image folder's split recorded
 * before key splits stays a position split (splitAsRecorded). Every other rule holds as at
 * submit: a spec that breaks one is refused, naming it.
 */
export function parseStoredSpec(stored: unknown, onEscaped: (refused: string) => void): RunSpec {
  const dataset = (stored as { dataset?: unknown } | null)?.dataset;
  const spec = dataset === undefined ? stored : { ...(stored as object), dataset: splitAsRecorded(dataset) };
  const parsed = RunSpecSchema.safeParse(spec);
  if (parsed.success) return parsed.data;
  const escaped = RunSpecSchema.safeParse(escapeStrings(spec));
  if (escaped.success) {
    onEscaped(describe(parsed.error.issues));
    return escaped.data;
  }
  throw new InvalidTrainingInputError(`The run spec is invalid: ${describe(parsed.error.issues)}`);
}

/** What a training process says of a stored spec it had to escape. */
export function warnEscaped(what: string): (refused: string) => void {
  return (refused) =>
    process.stderr.write(`${what} holds characters refused since it was accepted (${refused}); they are escaped\n`);
}

function describe(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
}

/** `value` with every string in it (not the keys) passed through escapeText. */
function escapeStrings(value: unknown): unknown {
  if (typeof value === 'string') return escapeText(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(value)) copy[key] = escapeStrings(item);
  return copy;
}

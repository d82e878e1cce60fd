import { RunUpdateSchema } from '@trainyard/contracts';
import { ZodValidationPipe } from '../validation/zod-validation.pipe';

/**
 * The body of `PATCH /v1/runs/:id`. Like every body it is checked for hostile input first, except
 * that `notes` are Markdown: their newlines and tabs are text there, not control characters
 * (RunNotesSchema still refuses every other one).
 */
export const runUpdatePipe = new ZodValidationPipe(RunUpdateSchema, 'Invalid run update', {
  in: 'body',
  screen: markdownNotesAsText,
});

/** The body with its notes' newlines and tabs as spaces, as the hostile-input check should see it. */
export function markdownNotesAsText(value: unknown): unknown {
  if (!isRecord(value) || typeof value['notes'] !== 'string') return value;
  return { ...value, notes: value['notes'].replace(/\r\n|[\n\t]/g, ' ') };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

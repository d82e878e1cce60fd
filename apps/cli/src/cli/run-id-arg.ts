import { RUN_ID_PREFIX, RUN_ID_PREFIX_MIN } from '@trainyard/contracts';
import { arg, type CommandContext } from './command';
import { CliError, EXIT, usageError } from './exit-codes';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The start of a run id as printed: hex digits, dashes only where a UUID has them (`1a2b3c4d-5e`). */
const UUID_START = /^[0-9a-f]{1,8}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,12})?)?)?)?$/i;
/** How many runs an ambiguous prefix names in its error. */
const CANDIDATES_SHOWN = 5;

/** The run id at positional argument `index`, a unique prefix of one resolved (see resolveRunId). */
export function runIdArg(ctx: CommandContext, index: number): Promise<string> {
  return resolveRunId(ctx, arg(ctx, index, 'run id'));
}

/**
 * The id of a dataset, pipeline, sweep or key at positional argument `index`: whole, since only runs
 * are looked up by prefix. A short one (the habit runs teach) is said here, rather than as the
 * API's 400 on a path parameter.
 */
export function wholeIdArg(
  ctx: CommandContext,
  index: number,
  what: 'dataset' | 'pipeline' | 'sweep' | 'key',
  listedBy: string,
): string {
  const text = arg(ctx, index, `${what} id`);
  if (UUID.test(text)) return text;
  throw usageError(
    `"${text}" is not a ${what} id: give the whole id, as \`trainyard ${listedBy}\` prints it (only runs are named by a prefix)`,
    `${what} id`,
  );
}

/**
 * A run id as the user typed it: a whole UUID goes to the API as it is (no request more), while
 * the short ids `workers` and `compare` print (`1a2b3c4d`), or any prefix of at least
 * RUN_ID_PREFIX_MIN hex digits, are looked up with `GET /v1/runs?idPrefix=` among every run the
 * key may read, archived ones included. A prefix no run has is the API's "not found" (exit 2); one that several runs share is a
 * usage error naming a few of them (exit 1), so a command never acts on a run the user did not mean.
 */
export async function resolveRunId(ctx: CommandContext, text: string): Promise<string> {
  if (UUID.test(text)) return text.toLowerCase();
  const prefix = text.replace(/-/g, '').toLowerCase();
  if (!UUID_START.test(text) || !RUN_ID_PREFIX.test(prefix))
    throw usageError(
      `"${text}" is not a run id: give the whole id or its first ${RUN_ID_PREFIX_MIN} or more hex digits (\`workers\` and \`compare\` print the first 8)`,
      'run',
    );
  const page = await ctx
    .client()
    .listRuns({ idPrefix: prefix, archived: 'any', limit: CANDIDATES_SHOWN }, { signal: ctx.signal });
  const [only, ...others] = page.items;
  if (!only)
    throw new CliError(`no run has an id starting with ${prefix}`, EXIT.API, [
      { field: 'run', message: 'no such run' },
    ]);
  if (others.length === 0) return only.id;
  const more = page.nextCursor ? '\n  … and more' : '';
  const listed = page.items.map((r) => `  ${r.id}  ${r.status.padEnd(9)}  ${r.createdAt}  ${r.name}`).join('\n');
  throw usageError(
    `run id ${prefix} is ambiguous: ${page.nextCursor ? 'more than ' : ''}${page.items.length} runs start with it:\n${listed}${more}\nGive more of the id.`,
    'run',
  );
}

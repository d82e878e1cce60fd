import type { PageQuery } from '@trainyard/client';
import { formatTable } from '../progress-line';
import { int, printJson, str, type Command, type CommandContext } from './command';
import { EXIT, usageError, type ExitCode } from './exit-codes';

/** `--limit` and `--cursor` of every keyset list (`ls`, `models`, `pipelines`, `sweeps`). */
export const PAGE_OPTIONS: NonNullable<Command['options']> = { limit: { type: 'string' }, cursor: { type: 'string' } };
export const PAGE_HELP = {
  limit: 'rows of a list page, 1 to 100 (default 25)',
  cursor: 'the next-page cursor a previous list printed',
};

/**
 * `--limit` and `--cursor` as given. A page of no rows is refused here; the most rows a page may
 * have is the API's to say (its 400, exit 2).
 */
export function pageQuery(ctx: CommandContext): PageQuery {
  const limit = int(ctx, 'limit');
  if (limit === 0)
    throw usageError(`--limit expects a whole number of rows from 1, got "${str(ctx, 'limit')}"`, '--limit');
  return { limit, cursor: str(ctx, 'cursor') };
}

/** A list page as a table (or its JSON, `nextCursor` included), and where the next page starts. */
export function printPage<T>(
  ctx: CommandContext,
  page: { items: T[]; nextCursor: string | null },
  headers: string[],
  row: (item: T) => string[],
): ExitCode {
  if (ctx.json) return (printJson(ctx, page), EXIT.OK);
  ctx.out(page.items.length ? `${formatTable(headers, page.items.map(row))}\n` : 'none\n');
  if (page.nextCursor) ctx.out(`more: --cursor ${page.nextCursor}\n`);
  return EXIT.OK;
}

import type { PageQuery } from '@trainyard/client';
import { CATALOG_LIST_DEFAULT_LIMIT, CATALOG_LIST_MAX_LIMIT } from '@trainyard/contracts';
import { formatTable } from '../progress-line';
import { int, printJson, str, type Command, type CommandContext } from './command';
import { EXIT, type ExitCode } from './exit-codes';

/** `--limit` and `--cursor` of every keyset list (`ls`, `datasets`, `models`, `pipelines`, `sweeps`). */
export const PAGE_OPTIONS: NonNullable<Command['options']> = { limit: { type: 'string' }, cursor: { type: 'string' } };
export const PAGE_HELP = {
  limit: `rows of a list page, 1 to ${CATALOG_LIST_MAX_LIMIT} (default ${CATALOG_LIST_DEFAULT_LIMIT})`,
  cursor: 'the next-page cursor a previous list printed',
};

/**
 * `--limit` and `--cursor` as given, `--limit` held to what the API takes (1 to `maxLimit`, the
 * contracts' bound of the list) before anything is sent. A cursor is the API's to judge.
 */
export function pageQuery(ctx: CommandContext, maxLimit = CATALOG_LIST_MAX_LIMIT): PageQuery {
  const limit = int(ctx, 'limit', { min: 1, max: maxLimit, what: 'a whole number of rows' });
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

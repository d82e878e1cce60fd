import type { PageQuery } from '@trainyard/client';
import { CATALOG_LIST_DEFAULT_LIMIT, CATALOG_LIST_MAX_LIMIT } from '@trainyard/contracts';
import { jsonText } from '../terminal-safe';
import { formatTable, tableHead, tableRows, tableWidths } from '../progress-line';
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

/** A page of a keyset list. */
export interface ListPage<T> {
  items: T[];
  nextCursor: string | null;
}

/** What `--all` says of its table in each list's help. */
export const ALL_HELP = "every page, each printed as it arrives; the columns take the first page's widths";

/**
 * `--all`: page after page from `cursor` on, each printed as soon as it arrives and the next one
 * asked for only then, so a reader sees the first rows at once (`| head -1` ends it after one page:
 * the closed pipe aborts the next request) and the CLI holds one page, however long the list. The
 * table's columns take the first page's widths (a longer cell further on widens only its row).
 * `--json` writes, page by page, what one page's JSON with every item in it would be:
 * `{ "items": [ … ], "nextCursor": null }`, byte for byte. `seen` is given each page's items once
 * printed (a warning about the whole list).
 */
export async function printAllPages<T>(
  ctx: CommandContext,
  fetchPage: (cursor: string | undefined) => Promise<ListPage<T>>,
  cursor: string | undefined,
  headers: string[],
  row: (item: T) => string[],
  seen: (items: T[]) => void = () => {},
): Promise<ExitCode> {
  let widths: number[] | undefined;
  let printed = 0;
  if (ctx.json) ctx.out('{\n  "items": [');
  do {
    const page = await fetchPage(cursor);
    if (ctx.json) {
      for (const item of page.items)
        ctx.out(`${printed++ ? ',' : ''}\n    ${jsonText(item, 2).replace(/\n/g, '\n    ')}`);
    } else if (page.items.length) {
      const rows = page.items.map(row);
      const head = widths ? [] : tableHead(headers, (widths = tableWidths(headers, rows)));
      ctx.out(`${[...head, ...tableRows(rows, widths)].join('\n')}\n`);
      printed += rows.length;
    }
    seen(page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  if (ctx.json) ctx.out(`${printed ? '\n  ' : ''}],\n  "nextCursor": null\n}\n`);
  else if (!printed) ctx.out('none\n');
  return EXIT.OK;
}

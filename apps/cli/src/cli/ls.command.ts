import {
  RUN_KINDS,
  RUN_LIST_MAX_LIMIT,
  RUN_LIST_METRIC_SORT,
  RUN_STATUSES,
  type RunListItemView,
  type RunListPage,
} from '@trainyard/contracts';
import type { RunListQuery } from '@trainyard/client';
import { truncateToWidth } from '../display-width';
import { formatTimestamp } from '../progress-line';
import { choice, orList, str, type Command } from './command';
import { usageError } from './exit-codes';
import { checkTags } from './housekeeping-commands';
import { ALL_HELP, PAGE_HELP, PAGE_OPTIONS, pageQuery, printAllPages, printPage } from './list-page';
import { formatValue, summaryValue, warnAbsentMetricNames, warnAbsentMetrics } from './metric-summary-text';
import { testSummary } from './run-report';

/** `--archived` and `--order` as the client's query types spell them. */
const ARCHIVED = ['false', 'true', 'any'] as const satisfies readonly NonNullable<RunListQuery['archived']>[];
const ORDERS = ['asc', 'desc'] as const satisfies readonly NonNullable<RunListQuery['order']>[];

export const lsCommand: Command = {
  name: 'ls',
  usage: '',
  maxArgs: 0,
  summary: 'List runs, newest first, with their test result: filter, search, sort by any metric summary.',
  options: {
    status: { type: 'string' },
    kind: { type: 'string' },
    q: { type: 'string' },
    tag: { type: 'string', multiple: true },
    archived: { type: 'string' },
    spec: { type: 'string', multiple: true },
    sort: { type: 'string' },
    order: { type: 'string' },
    ...PAGE_OPTIONS,
    all: { type: 'boolean' },
  },
  optionHelp: {
    status: orList(RUN_STATUSES),
    kind: orList(RUN_KINDS),
    q: 'substring of the name',
    tag: 'runs with this tag (repeat for runs with all of them)',
    archived: 'false (default), true (only archived) or any',
    spec: 'PATH=VALUE equality on a spec field, e.g. training.learningRate=0.001 (repeatable)',
    sort: 'createdAt or metric:<name>:<best|last|min|max>',
    order: 'asc or desc (default desc)',
    limit: `rows of a page, 1 to ${RUN_LIST_MAX_LIMIT} (default 20; with --all, the page size)`,
    cursor: PAGE_HELP.cursor,
    all: `every matching run: ${ALL_HELP}`,
  },
  async run(ctx) {
    const sort = str(ctx, 'sort');
    const metric = RUN_LIST_METRIC_SORT.exec(sort ?? '');
    if (sort !== undefined && sort !== 'createdAt' && !metric)
      throw usageError(`--sort takes createdAt or metric:<name>:<best|last|min|max>, got "${sort}"`, '--sort');
    const tags = ctx.values['tag'] as string[] | undefined;
    checkTags(tags ?? [], '--tag');
    const page = pageQuery(ctx, RUN_LIST_MAX_LIMIT);
    const query: RunListQuery = {
      status: choice(ctx, 'status', RUN_STATUSES, (s) => s.toUpperCase()),
      kind: choice(ctx, 'kind', RUN_KINDS, (k) => k.toUpperCase()),
      q: str(ctx, 'q'),
      tag: tags,
      archived: choice(ctx, 'archived', ARCHIVED),
      sort,
      order: choice(ctx, 'order', ORDERS),
      limit: page.limit ?? 20,
      cursor: page.cursor,
    };
    for (const filter of (ctx.values['spec'] as string[] | undefined) ?? []) {
      const eq = filter.indexOf('=');
      if (eq <= 0) throw usageError(`--spec expects PATH=VALUE, got "${filter}"`, '--spec');
      query[`spec.${filter.slice(0, eq).replace(/^spec\./, '')}`] = filter.slice(eq + 1);
    }
    const client = ctx.client();
    const absent = (name: string) => `no run listed has a metric "${name}" to sort by`;
    const header = [
      'id',
      'kind',
      'status',
      'name',
      'tags',
      'created (UTC)',
      'test',
      ...(metric ? [`${metric[1]} (${metric[2]})`] : []),
    ];
    const row = (r: RunListItemView) => [
      r.id,
      r.kind.toLowerCase(),
      r.status,
      truncateToWidth(r.name, 48),
      r.tags.join(','),
      formatTimestamp(r.createdAt),
      testSummary(r.result),
      ...(metric ? [formatValue(summaryValue(r.summaries, metric[1]!, metric[2] as 'best'))] : []),
    ];
    if (ctx.values['all']) {
      // The metric warning covers the whole list: the names its runs have, gathered page by page.
      const metrics = new Set<string>();
      let count = 0;
      const fetchPage = (cursor: string | undefined) => client.listRuns({ ...query, cursor }, { signal: ctx.signal });
      const code = await printAllPages(ctx, fetchPage, query.cursor, header, row, (items) => {
        count += items.length;
        for (const r of items) for (const s of r.summaries) metrics.add(s.name);
      });
      if (metric) warnAbsentMetricNames(ctx, [metric[1]!], metrics, count, absent);
      return code;
    }
    const runs: RunListPage = await client.listRuns(query, { signal: ctx.signal });
    if (metric) warnAbsentMetrics(ctx, [metric[1]!], runs.items, absent);
    return printPage(ctx, runs, header, row);
  },
};

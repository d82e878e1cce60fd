import { Injectable } from '@nestjs/common';
import type {
  MetricPointView,
  RunComparison,
  RunListPage,
  RunLiveState,
  RunMetrics,
  RunSeries,
} from '@trainyard/contracts';
import { MetricsRepository, RunsRepository } from '@trainyard/db';
import { DEFAULT_COMPARE_NAMES, type CompareQuery, type RunListRequest } from './run-history-params';
import { notFound } from '../http/problems';

/** Points per page of a streamed `/metrics` answer: about 1 MB of JSON, a few ms of index scan. */
export const METRIC_POINTS_PAGE = 5000;

/** Read-only queries behind the dashboard: run lists, downsampled series, comparisons. */
@Injectable()
export class RunHistoryService {
  constructor(
    private readonly runs: RunsRepository,
    private readonly metrics: MetricsRepository,
  ) {}

  /** A forged cursor is an InvalidCursorError, which the problem filter answers 400 naming `cursor`. */
  list(query: RunListRequest): Promise<RunListPage> {
    return this.runs.list(query);
  }

  /** `GET /v1/runs/:id/metrics` with maxPoints: each series downsampled, then flattened (by name, then step). */
  async metricPoints(runId: string, names: string[] | undefined, maxPoints: number): Promise<RunMetrics> {
    const { series } = await this.series(runId, names, maxPoints);
    return { runId, points: series.flatMap((s) => s.points) };
  }

  /**
   * `GET /v1/runs/:id/metrics` without maxPoints: every point of the run, which may be millions, as
   * the text of the same `{ runId, points }` document (what JSON.stringify, so Express, writes), a
   * chunk per page of points. Resolves once the first page is read, so a database failing at the
   * start is answered with a problem rather than a cut body; the rest is read as the caller pulls
   * it, a page at a time: memory holds a few pages, never the run. No page is read once `signal`
   * is aborted.
   */
  async metricPointsJson(
    runId: string,
    names: string[] | undefined,
    signal: AbortSignal,
    pageSize = METRIC_POINTS_PAGE,
  ): Promise<AsyncGenerator<string>> {
    const pages = this.metrics.seriesPages(runId, names, pageSize, signal);
    return runMetricsJson(runId, await pages.next(), pages);
  }

  async series(runId: string, names: string[] | undefined, maxPoints: number): Promise<RunSeries> {
    const extents = await this.metrics.seriesExtents(runId, names);
    const series = await Promise.all(
      extents.map(async (extent) => ({
        name: extent.name,
        total: extent.count,
        points: await this.metrics.downsampledSeries(runId, extent, maxPoints),
      })),
    );
    return { runId, series };
  }

  /** Several runs side by side: each one's list row (summaries included) and downsampled curves. Runs of another project are as missing as unknown ids. */
  async compare(query: CompareQuery, project: string | undefined): Promise<RunComparison> {
    const found = await this.runs.listItems(query.ids, project);
    const missing = query.ids.filter((id) => !found.some((run) => run.id === id));
    if (missing.length) throw notFound('run', missing.join(', '));
    const byId = new Map(found.map((run) => [run.id, run]));
    const names = query.names ?? DEFAULT_COMPARE_NAMES;
    // One run after the other (each run's names at once): a request of 20 runs × 20 names holds at
    // most 20 of the pool's connections at a time, not 420 queries queued on them at once.
    const runs: RunComparison['runs'] = [];
    for (const id of query.ids) {
      const { series } = await this.series(id, names, query.maxPoints);
      runs.push({ run: byId.get(id)!, series });
    }
    return { names, maxPoints: query.maxPoints, runs };
  }

  /** What a live view starts from; 404 for an unknown run. */
  async runStatus(id: string): Promise<RunLiveState> {
    const run = await this.runs.liveState(id);
    if (!run) throw notFound('run', id);
    return run;
  }

  async assertExists(id: string): Promise<void> {
    if (!(await this.runs.exists(id))) throw notFound('run', id);
  }
}

/**
 * `{"runId":…,"points":[…]}` a page at a time, byte for byte what JSON.stringify makes of the whole
 * document. Returning it (a consumer that stops reading) returns `rest` with it, which stops the reads.
 */
async function* runMetricsJson(
  runId: string,
  first: IteratorResult<MetricPointView[]>,
  rest: AsyncGenerator<MetricPointView[]>,
): AsyncGenerator<string> {
  try {
    const head = `{"runId":${JSON.stringify(runId)},"points":[`;
    if (first.done) {
      yield `${head}]}`;
      return;
    }
    yield head + pointsJson(first.value);
    for await (const page of rest) yield `,${pointsJson(page)}`;
    yield ']}';
  } finally {
    await rest.return(undefined);
  }
}

/** A page's points as the elements of a JSON array, without its brackets. */
function pointsJson(points: MetricPointView[]): string {
  return JSON.stringify(points).slice(1, -1);
}

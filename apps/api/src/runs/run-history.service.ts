import { Injectable } from '@nestjs/common';
import type { RunComparison, RunListPage, RunLiveState, RunMetrics, RunSeries } from '@trainyard/contracts';
import { MetricsRepository, RunsRepository } from '@trainyard/db';
import type { CompareQuery, MetricSeriesQuery, RunListRequest } from './run-history-params';
import { notFound } from '../http/problems';

/** The curves dashboards compare by default when no names are given. */
const DEFAULT_COMPARE_NAMES = ['loss', 'val_loss', 'accuracy', 'val_accuracy'];

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

  /** The flat list of points (by name, then step) that `GET /v1/runs/:id/metrics` has always answered. */
  async metricPoints(runId: string, query: MetricSeriesQuery): Promise<RunMetrics> {
    await this.assertExists(runId);
    const { series } = await this.series(runId, query.names, query.maxPoints);
    return { runId, points: series.flatMap((s) => s.points) };
  }

  async series(runId: string, names: string[] | undefined, maxPoints: number | undefined): Promise<RunSeries> {
    const extents = await this.metrics.seriesExtents(runId, names);
    const series = await Promise.all(
      extents.map(async (extent) => ({
        name: extent.name,
        total: extent.count,
        points:
          maxPoints === undefined
            ? await this.metrics.fullSeries(runId, extent.name)
            : await this.metrics.downsampledSeries(runId, extent, maxPoints),
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

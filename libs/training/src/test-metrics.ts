import { type RunResult, TEST_METRIC_PREFIX } from '@trainyard/contracts';
import type { TrainingMetricPoint } from './training-hooks';

/** Top-level numbers of a result that are counts, not scores: no metric of their own. */
const NOT_METRICS = new Set(['samples']);

/**
 * A finished run's test scores as metric points named `test/<field>` (`test/accuracy`,
 * `test/macroF1`, a pretrain's `test/mse`): every finite number at the top of its result but the
 * sample count, the fields a sweep's `test/<field>` leaderboard reads. Recorded like any metric
 * (summaries, charts, compare), so `GET /v1/runs?sort=metric:test/accuracy:best` orders runs by
 * them. They stand at the step and epoch of the weights they measure: the best checkpoint's
 * (`selection.best`), which the top-level scores are the test of; an evaluation's, and a result
 * from before selection, at 0. A resumed attempt supersedes them whatever their step
 * (`MetricsRepository.supersedeAfter`): it tests again once it has trained.
 */
export function testMetricPoints(result: RunResult, wallTime: string): TrainingMetricPoint[] {
  const tested = 'selection' in result ? result.selection?.best : undefined;
  const at = { step: Math.max(0, tested?.step ?? 0), epoch: tested?.epoch ?? 0 };
  return Object.entries(result)
    .filter((entry): entry is [string, number] => {
      const [field, value] = entry;
      return !NOT_METRICS.has(field) && typeof value === 'number' && Number.isFinite(value);
    })
    .map(([field, value]) => ({ name: `${TEST_METRIC_PREFIX}${field}`, ...at, value, wallTime }));
}

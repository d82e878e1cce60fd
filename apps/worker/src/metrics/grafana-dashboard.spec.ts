import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkerMetrics } from './worker-metrics';

/** Series the API's /metrics serves (apps/api/src/metrics/prometheus.registry.ts). */
const API_SERIES = [
  'trainyard_queue_jobs',
  'trainyard_runs',
  'trainyard_workers',
  'trainyard_http_request_duration_seconds',
];

/** deploy/grafana's dashboard queries only series something serves, so no panel is silently empty. */
describe('deploy/grafana/trainyard-dashboard.json', () => {
  const dashboard = JSON.parse(
    readFileSync(join(__dirname, '../../../../deploy/grafana/trainyard-dashboard.json'), 'utf8'),
  ) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };

  it('queries only series the worker or the API serve', async () => {
    const worker = (await new WorkerMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    const served = new Set([...worker, ...API_SERIES]);
    const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/trainyard_[a-z_]+/g) ?? []));
    const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => !served.has(name) && !served.has(base(name)))).toEqual([]);
  });

  it('shows every worker series named in the issue: outcomes, throughput, checkpoints, child crashes, queue wait', () => {
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const name of [
      'jobs_total',
      'images_per_second',
      'checkpoint_bytes_total',
      'checkpoint_failures_total',
      'child_crashes_total',
      'queue_wait_seconds_bucket',
    ]) {
      expect(exprs).toContain(`trainyard_worker_${name}`);
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrometheusRegistry } from '@trainyard/api-app';
import { loadConfig } from '@trainyard/config';
import { QUEUE_JOB_STATES, RESOURCE_CLASSES, RUN_KINDS, RUN_STATUSES, WORKER_STATES } from '@trainyard/contracts';
import { WorkerMetrics } from '@trainyard/worker-app';

// The Grafana dashboard, the alert rules in docs/operations.md, the README and docs/reliability.md
// name Prometheus series, labels and label values; each must be one the API's or a worker's
// /metrics serves, or a panel stays empty and an alert never fires, silently. Both registries are built here as the apps
// build them (nothing is collected: their sources are not needed to know their names).
const root = join(__dirname, '..');

interface Served {
  labels: Set<string>;
  /** Every value a label can take, where it is a closed set. */
  values: Map<string, readonly string[]>;
}

async function servedSeries(): Promise<Map<string, Served>> {
  const served = new Map<string, Served>();
  const worker = new WorkerMetrics();
  for (const metric of await worker.registry.getMetricsAsJSON()) {
    const values = new Map<string, string[]>();
    for (const { labels } of metric.values)
      for (const [label, value] of Object.entries(labels))
        values.set(label, [...(values.get(label) ?? []), String(value)]);
    served.set(metric.name, { labels: new Set(values.keys()), values });
  }
  // The API's gauges read PostgreSQL and Redis when scraped; their names and labels are fixed at
  // construction, and their label values are these closed sets (the registry sets every one).
  const api = new PrometheusRegistry(
    loadConfig({}),
    undefined as never,
    undefined as never,
    undefined as never,
    undefined as never,
    undefined as never,
  );
  const closed: Record<string, Record<string, readonly string[]>> = {
    trainyard_queue_jobs: { state: QUEUE_JOB_STATES, class: RESOURCE_CLASSES },
    trainyard_runs: { status: RUN_STATUSES, kind: RUN_KINDS },
    trainyard_workers: { state: WORKER_STATES },
    trainyard_runs_waiting: { class: RESOURCE_CLASSES },
    trainyard_queue_oldest_wait_seconds: { class: RESOURCE_CLASSES },
    trainyard_project_runs: { state: ['running', 'waiting'] },
  };
  for (const metric of api.registry.getMetricsAsArray()) {
    const labels = (metric as unknown as { labelNames?: string[] }).labelNames ?? [];
    served.set(metric.name, { labels: new Set(labels), values: new Map(Object.entries(closed[metric.name] ?? {})) });
  }
  return served;
}

/** Labels a scrape adds: Prometheus's own, and `pod` from the usual Kubernetes pod relabelling. */
const TARGET_LABELS = new Set(['job', 'instance', 'pod']);

/** `name{…}` references in a text (PromQL selectors, or the docs' `name{label,label}` lists), and `prefix_*`. */
function references(text: string): { name: string; braces?: string }[] {
  return [...text.matchAll(/\b(trainyard_[a-z0-9_]*)(\*|\{[^}]*\})?/g)].map((m) => ({
    name: m[2] === '*' ? `${m[1]}*` : m[1]!,
    braces: m[2]?.startsWith('{') ? m[2].slice(1, -1) : undefined,
  }));
}

/** What is wrong with one reference, or undefined. */
function problem(served: Map<string, Served>, name: string, braces: string | undefined): string | undefined {
  if (name.endsWith('*')) {
    const prefix = name.slice(0, -1);
    return [...served.keys()].some((n) => n.startsWith(prefix)) ? undefined : `no series starts with ${prefix}`;
  }
  const series = served.get(name) ?? served.get(name.replace(/_(bucket|sum|count)$/, ''));
  if (!series) return `${name} is not served`;
  if (braces === undefined || braces === '') return undefined;
  const labels = name.endsWith('_bucket') ? new Set([...series.labels, 'le']) : series.labels;
  // A label list (docs): exactly the series' labels.
  if (/^[a-z_]+(,[a-z_]+)*$/.test(braces)) {
    const listed = braces.split(',');
    const same = listed.length === labels.size && listed.every((l) => labels.has(l));
    return same ? undefined : `${name}{${braces}}: its labels are {${[...labels].join(',')}}`;
  }
  // Matchers: label="value" or label=~"a|b" (a table cell escapes the pipe).
  for (const [, label, op, raw] of braces.matchAll(/([a-z_]+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)) {
    if (TARGET_LABELS.has(label!)) continue;
    if (!labels.has(label!)) return `${name} has no label ${label} (it has ${[...labels].join(', ') || 'none'})`;
    const known = series.values.get(label!);
    if (!known || op!.startsWith('!')) continue;
    const wanted = op === '=~' ? raw!.replace(/\\\|/g, '|').split('|') : [raw!];
    const unknown = wanted.filter((v) => !known.includes(v));
    if (unknown.length) return `${name}{${label}}: ${unknown.join(', ')} is not one of ${known.join(', ')}`;
  }
  return undefined;
}

describe('metric references in the dashboard and the docs', () => {
  let served: Map<string, Served>;
  beforeAll(async () => {
    served = await servedSeries();
  });

  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/trainyard-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));

  const texts = [
    ['deploy/grafana/trainyard-dashboard.json', exprs.join('\n')],
    ['docs/operations.md', readFileSync(join(root, 'docs/operations.md'), 'utf8')],
    ['README.md', readFileSync(join(root, 'README.md'), 'utf8')],
    ['docs/reliability.md', readFileSync(join(root, 'docs/reliability.md'), 'utf8')],
  ] as const;

  it.each(texts)('%s names only series, labels and values the API or a worker serves', (_file, text) => {
    const refs = references(text);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.flatMap((r) => problem(served, r.name, r.braces) ?? [])).toEqual([]);
  });

  it.each(texts)('%s counts waiting jobs as prioritized too, wherever it counts them as waiting', (_file, text) => {
    // Every job has a BullMQ priority (bullmqPriority in libs/queue), so a job that waits is in the
    // `prioritized` state: a selector on `waiting` alone stays at 0 and its alert never fires.
    const onWaiting = references(text).filter(
      (r) => r.name === 'trainyard_queue_jobs' && /state\s*=~?\s*"[^"]*\bwaiting\b/.test(r.braces ?? ''),
    );
    expect(onWaiting.filter((r) => !/\bprioritized\b/.test(r.braces!)).map((r) => `${r.name}{${r.braces}}`)).toEqual(
      [],
    );
  });

  it('the dashboard shows every worker series the issue names: outcomes, throughput, checkpoints, child crashes, queue wait', () => {
    for (const name of [
      'jobs_total',
      'images_per_second',
      'checkpoint_bytes_total',
      'checkpoint_failures_total',
      'child_crashes_total',
      'queue_wait_seconds_bucket',
    ])
      expect(exprs.join('\n')).toContain(`trainyard_worker_${name}`);
  });

  it('catches an unknown series, label, value and label list', () => {
    expect(problem(served, 'trainyard_worker_jobs', undefined)).toMatch(/not served/);
    expect(problem(served, 'trainyard_gpu_*', undefined)).toMatch(/no series starts with/);
    expect(problem(served, 'trainyard_workers', 'status="lost"')).toMatch(/no label status/);
    expect(problem(served, 'trainyard_workers', 'state="gone"')).toMatch(/gone is not one of/);
    expect(problem(served, 'trainyard_worker_jobs_total', 'outcome=~"failed\\|crashed"')).toMatch(/crashed/);
    expect(problem(served, 'trainyard_queue_jobs', 'queue,state')).toMatch(/its labels are/);
    expect(problem(served, 'trainyard_worker_queue_wait_seconds_bucket', 'le="1"')).toBeUndefined();
  });
});

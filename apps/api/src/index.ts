export { createApiApp, type ApiOptions } from './create-api-app';
// For a process that also hosts a worker (the demo): `app.get<Database>(DATABASE)` shares the open database.
export { DATABASE } from '@trainyard/infrastructure';
// For the query benchmark (tools/bench/queries.ts): the API's own list, series and compare path.
export { METRIC_POINTS_PAGE, RunHistoryService } from './runs/run-history.service';
// For tools/metrics-references.spec.ts: the series and labels the API's /metrics serves.
export { PrometheusRegistry } from './metrics/prometheus.registry';

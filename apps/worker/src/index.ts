export { createWorker, type CreateWorkerOptions } from './create-worker';
// For the demo's in-process server: its shutdown backstop counts the worker's margin too.
export { SHUTDOWN_MARGIN_MS } from './shutdown-deadline';
// For tools/metrics-references.spec.ts: the series and labels a worker's /metrics serves.
export { WorkerMetrics } from './metrics/worker-metrics';

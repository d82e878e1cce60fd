export { createWorker, type CreateWorkerOptions } from './create-worker';
// For tools/metrics-references.spec.ts: the series and labels a worker's /metrics serves.
export { WorkerMetrics } from './metrics/worker-metrics';

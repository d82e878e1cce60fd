export { createWorker, type CreateWorkerOptions } from './create-worker';

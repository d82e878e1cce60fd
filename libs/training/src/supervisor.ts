// `@trainyard/training/supervisor`: what a process that only supervises training needs (the
// worker), and nothing that loads TensorFlow.js, sharp or the datasets. The training itself runs
// in the processes these functions start. Nothing this file reaches may import what loads them
// (apps/worker/src/worker-imports.int-spec.ts checks what the worker process loads).
export {
  prestartTrainingProcess,
  startTrainingProcess,
  type BacklogChange,
  type PrestartedTrainingProcess,
  type PrestartOptions,
  type TrainingProcessHandle,
  type TrainingProcessOptions,
} from './start-training-process';
export { probeDevices, type DeviceProbe, type DeviceProbeOptions } from './probe-devices';
export { captureOutputLines, type TrainingOutputLine, type TrainingOutputStream } from './training-output';
export type { DeviceReport, GpuDevice } from './device-report';
export type {
  ChildCrash,
  ImageFolderLocation,
  ResumeCandidate,
  TrainingEvent,
  TrainingJobInput,
  TrainingOutcome,
} from './training-job.types';
export type { TrainingMetricPoint, CheckpointMetric, CheckpointReason } from './training-hooks';
export type { BackendName } from '@trainyard/engine';

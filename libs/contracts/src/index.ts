export * from './run-state';
export * from './dataset.schema';
export * from './run-spec.schema';
export * from './queue.contract';
export * from './evaluation.contract';

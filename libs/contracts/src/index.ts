export * from './run-state';
export * from './dataset.schema';
export * from './run-spec.schema';
export * from './queue.contract';
export * from './evaluation.contract';
export * from './augmentation.schema';
export * from './classifier-base.schema';
export * from './evaluate-spec.schema';

export * from './dataset.types';
export * from './load-dataset';
export * from './mnist.dataset';
export * from './synthetic-shapes.dataset';
export * from './split-validation';
export * from './prng';

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { simdKernels, useSimdKernels } from './simd';
import { ErrorReport, randomValues, relativeError, prepareKernelChecks, valuesOn } from './kernel-check.testing';
import { leadingAxesSum } from './sum.kernel';

// The bias-gradient Sum (every axis but the last) by the SIMD kernel, against tfjs's cpu Sum:
// channels 1–3 (the folded path), 4-channel blocks, 16-channel blocks and their scalar tails,
// batch 1, rows not a multiple of 4 and more rows than one 256-row chunk.
const shapes: number[][] = [
  [1, 7, 9, 1],
  [3, 5, 7, 2],
  [2, 7, 9, 3],
  [1, 1, 1, 3],
  [2, 7, 9, 4],
  [1, 7, 9, 5],
  [3, 7, 9, 16],
  [2, 9, 11, 21],
  [1, 14, 14, 32],
  [2, 5, 7, 36],
  [4, 10, 10, 64],
  [1, 3, 3, 67],
  [32, 28, 28, 1],
  [7, 13],
  [1, 10],
  [33, 128],
];

const report = new ErrorReport();

beforeAll(() => prepareKernelChecks());

afterAll(() => {
  useSimdKernels(true);
  console.log(`Sum vs cpu\n${report}`);
});

describe.each(shapes.map((shape) => ({ shape, label: shape.join('x') })))('Sum of $label', ({ shape }) => {
  const axis = shape.slice(0, -1).map((_, i) => i);
  it.each([false, true])('over the leading axes matches cpu (keepDims %s)', async (keepDims) => {
    const xs = randomValues(shape, 31 + shape.length);
    const ref = await valuesOn('cpu', () => tf.sum(tf.tensor(xs, shape), axis, keepDims));
    const got = await valuesOn('wasm', () => tf.sum(tf.tensor(xs, shape), axis, keepDims));
    expect(simdKernels(tf.backend())).not.toBeNull();
    expect(got.shape).toEqual(ref.shape);
    const error = relativeError(ref.values, got.values);
    report.record('Sum (SIMD)', shape.join('x'), error);
    expect(error).toBeLessThan(1e-4);
  });
});

test('only the leading-axes float32 case is taken; the rest go to the stock kernel and agree with cpu', async () => {
  const info = (shape: number[], dtype: tf.DataType = 'float32') => ({ shape, dtype, dataId: {} }) as tf.TensorInfo;
  expect(leadingAxesSum(info([2, 3, 4]), [0, 1])).toEqual({ rows: 6, c: 4 });
  expect(leadingAxesSum(info([2, 3, 4]), [-3, 1])).toEqual({ rows: 6, c: 4 });
  expect(leadingAxesSum(info([2, 3, 4]), [0])).toBeNull();
  expect(leadingAxesSum(info([2, 3, 4]), [1, 2])).toBeNull();
  expect(leadingAxesSum(info([2, 3, 4]), [0, 1, 2])).toBeNull();
  expect(leadingAxesSum(info([5]), 0)).toBeNull();
  expect(leadingAxesSum(info([2, 3], 'int32'), 0)).toBeNull();
  expect(leadingAxesSum(info([0, 3]), 0)).toBeNull();
  const xs = randomValues([3, 4, 5], 41);
  const ints = Int32Array.from(xs, (v) => Math.round(v * 10));
  const run = () =>
    tf.concat([
      tf.sum(tf.tensor(xs, [3, 4, 5]), [1, 2]),
      tf.sum(tf.tensor(xs, [3, 4, 5]), 1).flatten(),
      tf.sum(tf.tensor(xs, [3, 4, 5])).reshape([1]),
      tf.sum(tf.tensor(xs, [3, 4, 5]), [0, 2], true).flatten(),
      tf.sum(tf.tensor(ints, [3, 4, 5], 'int32'), [0, 1]).toFloat(),
      tf.sum(tf.tensor(xs, [3, 4, 5]), [0, 1]),
    ]);
  for (const on of [true, false]) {
    useSimdKernels(on);
    const ref = await valuesOn('cpu', run);
    const got = await valuesOn('wasm', run);
    expect(relativeError(ref.values, got.values)).toBeLessThan(1e-4);
  }
  useSimdKernels(true);
  const dtype = await valuesOn('wasm', () => tf.sum(tf.tensor(ints, [3, 4, 5], 'int32'), [0, 1]).cast('float32'));
  expect(dtype.shape).toEqual([5]);
});

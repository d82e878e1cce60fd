import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { useDepthwiseBackpropFilter } from './depthwise-filter-grad.kernel';
import { simdKernels, useSimdKernels } from './simd';
import {
  dilateFilter,
  ErrorReport,
  forwardOutShape,
  randomValues,
  relativeError,
  prepareKernelChecks,
  undilateFilter,
  valuesOn,
} from './kernel-check.testing';

// Same method as conv2d-backprop.spec.ts: wasm against tfjs's cpu kernels, dilated cases
// against the undilated conv with a zero-spread filter (the cpu kernels ignore dilation).
interface Case {
  n: number;
  c: number;
  m: number;
  k: number;
  s: number;
  pad: 'same' | 'valid';
  d: number;
}

const cases: Case[] = [];
for (const s of [1, 2])
  for (const pad of ['same', 'valid'] as const)
    for (const [n, c, m] of [
      [1, 1, 1],
      [3, 3, 2],
      [3, 8, 1],
    ])
      cases.push({ n, c, m, k: 3, s, pad, d: 1 });
cases.push(
  { n: 3, c: 3, m: 2, k: 3, s: 1, pad: 'same', d: 2 },
  { n: 1, c: 8, m: 1, k: 2, s: 1, pad: 'valid', d: 2 },
  { n: 1, c: 64, m: 1, k: 3, s: 2, pad: 'same', d: 1 },
  { n: 2, c: 5, m: 3, k: 3, s: 2, pad: 'same', d: 1 },
  // Multiplier 1 runs the SIMD kernel: 16-channel blocks, 4-channel blocks and a scalar tail.
  { n: 2, c: 21, m: 1, k: 3, s: 1, pad: 'same', d: 1 },
  { n: 1, c: 16, m: 1, k: 3, s: 2, pad: 'valid', d: 2 },
  { n: 1, c: 36, m: 1, k: 2, s: 2, pad: 'same', d: 1 },
  // dx by SIMD: 16- and 4-channel blocks with scalar tails, strides 1 and 2 with dilation.
  { n: 2, c: 23, m: 1, k: 3, s: 2, pad: 'valid', d: 2 },
  { n: 1, c: 64, m: 1, k: 3, s: 1, pad: 'valid', d: 1 },
  { n: 2, c: 5, m: 1, k: 3, s: 2, pad: 'same', d: 2 },
);

const label = (c: Case) => `n${c.n} 7x9 c${c.c} m${c.m} k${c.k} s${c.s} ${c.pad} d${c.d}`;
const report = new ErrorReport();

beforeAll(() => prepareKernelChecks());

afterAll(() => {
  useDepthwiseBackpropFilter('js');
  useSimdKernels(true);
  console.log(`gradient check vs cpu\n${report}`);
});

describe.each(cases)('depthwise backprop, batch $n', (c) => {
  const x: [number, number, number, number] = [c.n, 7, 9, c.c];
  const filter: [number, number, number, number] = [c.k, c.k, c.c, c.m];
  const span = (c.k - 1) * c.d + 1;
  const dilated: [number, number, number, number] = [span, span, c.c, c.m];
  const dy = forwardOutShape(x, filter, c.s, c.pad, c.d, true);
  const attrs = { strides: c.s, pad: c.pad };

  // 'simd': the default (the wasm SIMD kernel for multiplier 1, the JS pass otherwise).
  it.each(['simd', 'js', 'conv'] as const)(
    `DepthwiseConv2dNativeBackpropFilter (%s form) matches cpu (${label(c)})`,
    async (impl) => {
      useDepthwiseBackpropFilter(impl === 'conv' ? 'conv' : 'js');
      useSimdKernels(impl === 'simd');
      const [xs, dys] = [randomValues(x, 21), randomValues(dy, 22)];
      const ref = await valuesOn('cpu', () => {
        const inputs = { x: tf.tensor(xs, x), dy: tf.tensor(dys, dy) };
        const grad = tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, inputs, {
          ...attrs,
          dilations: 1,
          filterShape: dilated,
        }) as tf.Tensor4D;
        return undilateFilter(grad, c.d, c.d);
      });
      const got = await valuesOn('wasm', () => {
        const inputs = { x: tf.tensor(xs, x), dy: tf.tensor(dys, dy) };
        return tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, inputs, {
          ...attrs,
          dilations: c.d,
          filterShape: filter,
        }) as tf.Tensor;
      });
      expect(simdKernels(tf.backend()) !== null).toBe(impl === 'simd');
      expect(got.shape).toEqual(filter);
      const error = relativeError(ref.values, got.values);
      report.record(
        `DepthwiseConv2dNativeBackpropFilter (${impl === 'simd' && c.m === 1 ? 'SIMD' : impl === 'conv' ? 'conv' : 'JS'})`,
        label(c),
        error,
      );
      expect(error).toBeLessThan(1e-4);
    },
  );

  // 'simd': the wasm SIMD kernel for multiplier 1; 'composite': the depthwiseConv2d form.
  it.each(['simd', 'composite'] as const)(
    `DepthwiseConv2dNativeBackpropInput (%s form) matches cpu (${label(c)})`,
    async (impl) => {
      useSimdKernels(impl === 'simd');
      const [fs, dys] = [randomValues(filter, 23), randomValues(dy, 24)];
      const ref = await valuesOn('cpu', () => {
        const inputs = { dy: tf.tensor(dys, dy), filter: dilateFilter(tf.tensor4d(fs, filter), c.d, c.d) };
        return tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, inputs, {
          ...attrs,
          dilations: 1,
          inputShape: x,
        }) as tf.Tensor;
      });
      const got = await valuesOn('wasm', () => {
        const inputs = { dy: tf.tensor(dys, dy), filter: tf.tensor(fs, filter) };
        return tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, inputs, {
          ...attrs,
          dilations: c.d,
          inputShape: x,
        }) as tf.Tensor;
      });
      expect(simdKernels(tf.backend()) !== null).toBe(impl === 'simd');
      useSimdKernels(true);
      expect(got.shape).toEqual(x);
      const error = relativeError(ref.values, got.values);
      report.record(
        `DepthwiseConv2dNativeBackpropInput (${impl === 'simd' && c.m === 1 ? 'SIMD' : 'composite'})`,
        label(c),
        error,
      );
      expect(error).toBeLessThan(1e-4);
    },
  );
});

test('depthwiseConv2d gradients through tf.grads agree between cpu and wasm', async () => {
  const [xs, ws] = [randomValues([2, 7, 9, 3], 25), randomValues([3, 3, 3, 2], 26)];
  const run = () => {
    const loss = (x: tf.Tensor, w: tf.Tensor) =>
      tf
        .depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')
        .square()
        .sum();
    const [dx, dw] = tf.grads(loss)([tf.tensor(xs, [2, 7, 9, 3]), tf.tensor(ws, [3, 3, 3, 2])]);
    return tf.concat([dx.flatten(), dw.flatten()]);
  };
  const ref = await valuesOn('cpu', run);
  const got = await valuesOn('wasm', run);
  expect(relativeError(ref.values, got.values)).toBeLessThan(1e-4);
});

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './register-wasm-kernels';
import { ErrorReport, randomValues, relativeError, valuesOn } from './kernel-check.testing';

// Our wasm MaxPoolGrad against tfjs's cpu kernel. Ties matter: after a relu whole windows are
// 0, and only the first maximum may receive the gradient, so half the inputs are clamped to 0.
interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  k: [number, number];
  s: number;
  pad: 'same' | 'valid';
}

const cases: Case[] = [];
for (const s of [1, 2])
  for (const pad of ['same', 'valid'] as const)
    for (const [n, c, k] of [
      [1, 1, 2],
      [3, 3, 3],
      [3, 8, 2],
    ] as const)
      cases.push({ n, h: 7, w: 9, c, k: [k, k], s, pad });
cases.push({ n: 1, h: 9, w: 7, c: 64, k: [2, 2], s: 2, pad: 'same' }, { n: 2, h: 8, w: 8, c: 5, k: [3, 2], s: 2, pad: 'same' });

const report = new ErrorReport();

beforeAll(() => {
  registerWasmTrainingKernels();
  tf.env().set('IS_TEST', true);
});

afterAll(() => console.log(`gradient check vs cpu\n${report}`));

const label = (c: Case) => `n${c.n} ${c.h}x${c.w}x${c.c} pool ${c.k.join('x')} s${c.s} ${c.pad}`;

test.each(cases.map((c) => [label(c), c] as const))('MaxPoolGrad matches cpu (%s)', async (_label, c) => {
  const xShape = [c.n, c.h, c.w, c.c];
  const x = randomValues(xShape, 3).map((v) => Math.max(v, 0));
  const run = () =>
    tf.tidy(() => {
      const input = tf.tensor4d(x, xShape as [number, number, number, number]);
      const output = tf.maxPool(input, c.k, c.s, c.pad);
      const dy = tf.tensor(randomValues(output.shape, 4), output.shape);
      const attrs = { filterSize: c.k, strides: c.s, pad: c.pad };
      return tf.engine().runKernel(tf.MaxPoolGrad, { dy, input, output }, attrs) as tf.Tensor;
    });
  const ref = await valuesOn('cpu', run);
  const got = await valuesOn('wasm', run);
  expect(got.shape).toEqual(ref.shape);
  const error = relativeError(ref.values, got.values);
  report.record('MaxPoolGrad', JSON.stringify(c), error);
  expect(error).toBeLessThanOrEqual(1e-4);
});

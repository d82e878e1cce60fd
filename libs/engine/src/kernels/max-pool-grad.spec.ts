import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ErrorReport, randomValues, relativeError, prepareKernelChecks, valuesOn } from './kernel-check.testing';
import { simdKernels, useSimdKernels } from './simd';

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
cases.push(
  { n: 1, h: 9, w: 7, c: 64, k: [2, 2], s: 2, pad: 'same' },
  { n: 2, h: 8, w: 8, c: 5, k: [3, 2], s: 2, pad: 'same' },
);
// SIMD lanes (4 channels) with a tail, overlapping windows clipped on every side.
cases.push(
  { n: 1, h: 11, w: 13, c: 23, k: [3, 3], s: 1, pad: 'same' },
  { n: 2, h: 14, w: 14, c: 32, k: [2, 2], s: 2, pad: 'valid' },
);

const report = new ErrorReport();

beforeAll(() => prepareKernelChecks());

afterAll(() => {
  useSimdKernels(true);
  console.log(`gradient check vs cpu\n${report}`);
});

const label = (c: Case) => `n${c.n} ${c.h}x${c.w}x${c.c} pool ${c.k.join('x')} s${c.s} ${c.pad}`;

// 'simd': the wasm SIMD kernel (the default); 'js': the JS pass it replaced, kept as fallback.
test.each(cases.flatMap((c) => (['simd', 'js'] as const).map((impl) => [label(c), impl, c] as const)))(
  'MaxPoolGrad matches cpu (%s, %s)',
  async (_label, impl, c) => {
    useSimdKernels(impl === 'simd');
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
    expect(simdKernels(tf.backend()) !== null).toBe(impl === 'simd');
    expect(got.shape).toEqual(ref.shape);
    const error = relativeError(ref.values, got.values);
    report.record(impl === 'simd' ? 'MaxPoolGrad (SIMD)' : 'MaxPoolGrad (JS)', JSON.stringify(c), error);
    expect(error).toBeLessThanOrEqual(1e-4);
  },
);

test('the SIMD kernels run on the backend heap in place, also after it grows', async () => {
  useSimdKernels(true);
  await tf.setBackend('wasm');
  expect(simdKernels(tf.backend())).not.toBeNull();
  const xShape: [number, number, number, number] = [2, 12, 12, 8];
  const x = randomValues(xShape, 5);
  const run = () =>
    tf.tidy(() => {
      const input = tf.tensor4d(x, xShape);
      const output = tf.maxPool(input, 2, 2, 'same');
      const dy = tf.tensor(randomValues(output.shape, 6), output.shape);
      return tf
        .engine()
        .runKernel(tf.MaxPoolGrad, { dy, input, output }, { filterSize: 2, strides: 2, pad: 'same' }) as tf.Tensor;
    });
  const before = await valuesOn('wasm', run);
  const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.buffer.byteLength;
  const size = heap();
  const big = tf.zeros([size / 2]); // grows the heap: JS views detach, the Memory object stays
  expect(heap()).toBeGreaterThan(size);
  const after = await valuesOn('wasm', run);
  big.dispose();
  expect(after.values).toEqual(before.values);
});

import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { transposedMatMul } from './batch-mat-mul.kernel';
import { ErrorReport, prepareKernelChecks, randomValues, relativeError, valuesOn } from './kernel-check.testing';
import { unregisterWasmTrainingKernels, registerWasmTrainingKernels } from './register-wasm-kernels';
import { simdKernels, useSimdKernels } from './simd';

// matMul with one operand transposed, by the SIMD kernels, against tfjs's cpu kernel: the
// dense bottleneck's gradients as the autoencoders meet them (3136 ↔ 64 at batch 32), a
// classifier head's (64 → 10), shapes below one register tile and with tails in every
// dimension, a batch, a broadcast operand and rank 4.
interface Case {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}
const cases: Case[] = [
  { a: [32, 64], b: [3136, 64], transposeA: false, transposeB: true }, // dx = dy·Wᵀ
  { a: [32, 3136], b: [32, 64], transposeA: true, transposeB: false }, // dW = xᵀ·dy
  { a: [32, 10], b: [64, 10], transposeA: false, transposeB: true },
  { a: [32, 64], b: [32, 10], transposeA: true, transposeB: false },
  { a: [5, 3], b: [7, 3], transposeA: false, transposeB: true },
  { a: [3, 5], b: [3, 7], transposeA: true, transposeB: false },
  { a: [1, 1], b: [1, 1], transposeA: false, transposeB: true },
  { a: [1, 9], b: [1, 2], transposeA: true, transposeB: false },
  { a: [6, 1], b: [11, 1], transposeA: false, transposeB: true },
  { a: [13, 300], b: [1, 300], transposeA: false, transposeB: true },
  { a: [300, 13], b: [300, 3], transposeA: true, transposeB: false },
  { a: [3, 5, 6], b: [3, 7, 6], transposeA: false, transposeB: true },
  { a: [5, 6], b: [3, 7, 6], transposeA: false, transposeB: true },
  { a: [4, 6, 5], b: [6, 7], transposeA: true, transposeB: false },
  { a: [2, 3, 9, 4], b: [2, 3, 9, 17], transposeA: true, transposeB: false },
];

const report = new ErrorReport();

beforeAll(() => prepareKernelChecks());

afterAll(() => {
  useSimdKernels(true);
  console.log(`BatchMatMul vs cpu\n${report}`);
});

const label = (c: Case) => `${c.a.join('x')}${c.transposeA ? 'ᵀ' : ''} · ${c.b.join('x')}${c.transposeB ? 'ᵀ' : ''}`;

describe.each(cases.map((c, i) => ({ ...c, i, label: label(c) })))('$label', ({ i, ...c }) => {
  it('matches cpu by the SIMD kernels, and by tfjs-wasm without them', async () => {
    const [as, bs] = [randomValues(c.a, 101 + i), randomValues(c.b, 211 + i)];
    const run = () => tf.matMul(tf.tensor(as, c.a), tf.tensor(bs, c.b), c.transposeA, c.transposeB);
    const ref = await valuesOn('cpu', run);
    for (const on of [true, false]) {
      useSimdKernels(on);
      const got = await valuesOn('wasm', run);
      if (on) expect(simdKernels(tf.backend())).not.toBeNull();
      expect(got.shape).toEqual(ref.shape);
      const error = relativeError(ref.values, got.values);
      if (on) report.record('BatchMatMul (SIMD)', label(c), error);
      expect(error).toBeLessThan(1e-5);
    }
    useSimdKernels(true);
  });
});

test('a dense layer’s gradients match cpu through the fused matMul layers use', async () => {
  const [x, w, bias, dy] = [
    randomValues([8, 49], 7),
    randomValues([49, 12], 8),
    randomValues([12], 9),
    randomValues([8, 12], 10),
  ];
  const grads = () => {
    const f = (xt: tf.Tensor, wt: tf.Tensor) =>
      tf.fused.matMul({ a: xt as tf.Tensor2D, b: wt as tf.Tensor2D, bias: tf.tensor1d(bias), activation: 'relu' });
    const [dx, dw] = tf.grads(f)([tf.tensor2d(x, [8, 49]), tf.tensor2d(w, [49, 12])], tf.tensor2d(dy, [8, 12]));
    return tf.concat([dx.flatten(), dw.flatten()]);
  };
  const ref = await valuesOn('cpu', grads);
  const got = await valuesOn('wasm', grads);
  expect(relativeError(ref.values, got.values)).toBeLessThan(1e-5);
});

test('only one transposed, non-empty float32 operand with compatible batches is taken', () => {
  const info = (shape: number[], dtype: tf.DataType = 'float32') => ({ shape, dtype, dataId: {} }) as tf.TensorInfo;
  const plan = (a: number[], b: number[], transposeA: boolean, transposeB: boolean, dtype?: tf.DataType) =>
    transposedMatMul(info(a, dtype), info(b), { transposeA, transposeB });
  expect(plan([32, 64], [3136, 64], false, true)).toEqual({
    transposed: 'b',
    m: 32,
    n: 3136,
    k: 64,
    batch: 1,
    aSteps: false,
    bSteps: false,
    outShape: [32, 3136],
  });
  expect(plan([4, 6, 5], [6, 7], true, false)).toMatchObject({ transposed: 'a', m: 5, n: 7, k: 6, batch: 4 });
  expect(plan([4, 6, 5], [6, 7], true, false)).toMatchObject({ aSteps: true, bSteps: false, outShape: [4, 5, 7] });
  expect(plan([5, 6], [1, 3, 7, 6], false, true)).toMatchObject({ batch: 3, aSteps: false, outShape: [1, 3, 5, 7] });
  expect(plan([5, 6], [6, 7], false, false)).toBeNull(); // XNNPACK's
  expect(plan([6, 5], [7, 6], true, true)).toBeNull();
  expect(plan([5, 6], [7, 6], false, true, 'int32')).toBeNull();
  expect(plan([5, 6], [7, 5], false, true)).toBeNull(); // inner sizes differ: tfjs reports it
  expect(plan([0, 6], [7, 6], false, true)).toBeNull();
  expect(plan([5, 0], [7, 0], false, true)).toBeNull();
  expect(plan([2, 1, 5, 6], [1, 3, 7, 6], false, true)).toBeNull(); // a broadcast of both sides
  expect(plan([2, 5, 6], [3, 7, 6], false, true)).toBeNull();
  expect(plan([6], [7, 6], false, true)).toBeNull();
});

test('unregistering puts tfjs-wasm’s own BatchMatMul back, and registering ours again', async () => {
  const ours = tf.getKernel(tf.BatchMatMul, 'wasm');
  unregisterWasmTrainingKernels();
  try {
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).not.toBe(ours);
    const got = await valuesOn('wasm', () => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.eye(2), false, true));
    expect(Array.from(got.values)).toEqual([1, 2, 3, 4]);
  } finally {
    registerWasmTrainingKernels();
  }
  expect(tf.getKernel(tf.BatchMatMul, 'wasm')).toBe(ours);
});

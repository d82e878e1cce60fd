import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { useConv2DBackpropFilter } from './conv2d-backprop-filter.kernel';
import { simdKernels } from './simd';
import {
  useBackpropInputSimd,
  useStridedBackpropInputPhases,
  useStridedBackpropInputSimd,
} from './conv2d-backprop-input.kernel';
import { useConv2DBackpropInput } from './register-wasm-kernels';
import {
  dilateFilter,
  ErrorReport,
  forwardOutShape,
  randomValues,
  relativeError,
  undilateFilter,
  valuesOn,
  prepareKernelChecks,
} from './kernel-check.testing';

// Each wasm kernel against tfjs's cpu kernel (the reference), both run in this process by
// switching backends. tfjs's cpu kernels ignore dilation, so dilated cases are checked against
// the equivalent undilated conv with a zero-spread filter.
type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;
interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  s: number;
  pad: Pad;
  d: number;
}

const cases: Case[] = [];
for (const s of [1, 2])
  for (const pad of ['same', 'valid'] as const)
    for (const [n, ci, co] of [
      [1, 1, 3],
      [3, 3, 8],
      [3, 8, 1],
    ])
      cases.push({ n, h: 7, w: 9, ci, co, k: [3, 3], s, pad, d: 1 });
cases.push(
  { n: 1, h: 7, w: 9, ci: 3, co: 8, k: [4, 2], s: 2, pad: 'same', d: 1 }, // even filter: asymmetric 'same' padding
  { n: 3, h: 9, w: 7, ci: 3, co: 8, k: [5, 3], s: 2, pad: 'valid', d: 1 }, // stride leaves rows unread
  {
    n: 3,
    h: 7,
    w: 9,
    ci: 3,
    co: 8,
    k: [3, 3],
    s: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
    d: 1,
  },
  { n: 3, h: 7, w: 9, ci: 3, co: 8, k: [3, 3], s: 1, pad: 'same', d: 2 },
  { n: 1, h: 7, w: 9, ci: 8, co: 3, k: [3, 2], s: 1, pad: 'valid', d: 2 },
  { n: 3, h: 9, w: 9, ci: 3, co: 4, k: [3, 3], s: 2, pad: 'valid', d: 2 }, // filter grad only: tfjs refuses it forward
  { n: 1, h: 9, w: 7, ci: 64, co: 64, k: [3, 3], s: 2, pad: 'same', d: 1 },
  { n: 3, h: 5, w: 7, ci: 16, co: 8, k: [1, 1], s: 1, pad: 'valid', d: 1 }, // pointwise: dW by matMul
  { n: 1, h: 21, w: 21, ci: 3, co: 8, k: [3, 3], s: 1, pad: 'same', d: 1 }, // ≥ 400 outputs: 'auto' picks matMul
  { n: 1, h: 8, w: 7, ci: 3, co: 4, k: [1, 1], s: 2, pad: 'valid', d: 1 }, // phases without any tap
  { n: 2, h: 10, w: 8, ci: 4, co: 5, k: [4, 3], s: 3, pad: 'same', d: 1 },
  { n: 2, h: 14, w: 14, ci: 32, co: 16, k: [3, 3], s: 2, pad: 'same', d: 1 }, // a decoder's conv2dTranspose
  // SIMD dW tiles: 4 input × 8 output channels, then 4-wide and scalar tails on both axes
  { n: 2, h: 9, w: 11, ci: 5, co: 12, k: [3, 3], s: 1, pad: 'same', d: 1 },
  { n: 1, h: 8, w: 9, ci: 2, co: 20, k: [2, 3], s: 2, pad: 'valid', d: 1 },
  // pointwise dx by SIMD: an odd position count, input-channel and output-channel tails
  { n: 1, h: 5, w: 3, ci: 7, co: 13, k: [1, 1], s: 1, pad: 'same', d: 1 },
  { n: 2, h: 4, w: 4, ci: 12, co: 32, k: [1, 1], s: 1, pad: 'valid', d: 1 },
);

const label = (c: Case) =>
  `n${c.n} ${c.h}x${c.w} ${c.ci}->${c.co} k${c.k.join('x')} s${c.s} ${typeof c.pad === 'string' ? c.pad : 'explicit'} d${c.d}`;

function shapes(c: Case) {
  const x: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
  const filter: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
  const dilated: [number, number, number, number] = [(c.k[0] - 1) * c.d + 1, (c.k[1] - 1) * c.d + 1, c.ci, c.co];
  return { x, filter, dilated, dy: forwardOutShape(x, filter, c.s, c.pad, c.d, false) };
}

const report = new ErrorReport();

// Always ours here: 'auto' would hand the few-channel cases to the stock kernel.
beforeAll(() => prepareKernelChecks({ backpropInput: 'conv2d' }));

afterAll(() => {
  useStridedBackpropInputPhases(true);
  useBackpropInputSimd(true);
  useStridedBackpropInputSimd(true);
  useConv2DBackpropFilter('auto');
  console.log(`gradient check vs cpu\n${report}`);
});

describe.each(cases)('conv2d backprop, batch $n', (c) => {
  const sh = shapes(c);
  const common = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' };

  it.each(['simd', 'conv', 'matmul'] as const)(
    `Conv2DBackpropFilter (%s form) matches cpu (${label(c)})`,
    async (impl) => {
      useConv2DBackpropFilter(impl);
      const x = randomValues(sh.x, 1);
      const dy = randomValues(sh.dy, 2);
      const ref = await valuesOn('cpu', () => {
        const grad = tf
          .engine()
          .runKernel(
            tf.Conv2DBackpropFilter,
            { x: tf.tensor(x, sh.x), dy: tf.tensor(dy, sh.dy) },
            { ...common, filterShape: sh.dilated },
          ) as tf.Tensor4D;
        return undilateFilter(grad, c.d, c.d);
      });
      const got = await valuesOn(
        'wasm',
        () =>
          tf
            .engine()
            .runKernel(
              tf.Conv2DBackpropFilter,
              { x: tf.tensor(x, sh.x), dy: tf.tensor(dy, sh.dy) },
              { ...common, filterShape: sh.filter, dilations: c.d },
            ) as tf.Tensor,
      );
      if (impl === 'simd') expect(simdKernels(tf.backend())).not.toBeNull();
      expect(got.shape).toEqual(sh.filter);
      const error = relativeError(ref.values, got.values);
      report.record(`Conv2DBackpropFilter (${impl})`, label(c), error);
      expect(error).toBeLessThan(1e-4);
    },
  );

  // 'simd' is the default (the SIMD kernels for every stride); 'phases' keeps them for stride 1
  // and takes strided convs to the phase form; 'zeros' turns all of it off.
  it.each(['simd', 'phases', 'zeros'] as const)(
    `Conv2DBackpropInput (%s form) matches cpu (${label(c)})`,
    async (form) => {
      useStridedBackpropInputPhases(form !== 'zeros');
      useBackpropInputSimd(form !== 'zeros');
      useStridedBackpropInputSimd(form === 'simd');
      const filter = randomValues(sh.filter, 3);
      const dy = randomValues(sh.dy, 4);
      const ref = await valuesOn(
        'cpu',
        () =>
          tf
            .engine()
            .runKernel(
              tf.Conv2DBackpropInput,
              { dy: tf.tensor(dy, sh.dy), filter: dilateFilter(tf.tensor4d(filter, sh.filter), c.d, c.d) },
              { ...common, inputShape: sh.x },
            ) as tf.Tensor,
      );
      const got = await valuesOn(
        'wasm',
        () =>
          tf
            .engine()
            .runKernel(
              tf.Conv2DBackpropInput,
              { dy: tf.tensor(dy, sh.dy), filter: tf.tensor(filter, sh.filter) },
              { ...common, inputShape: sh.x, dilations: c.d },
            ) as tf.Tensor,
      );
      expect(got.shape).toEqual(sh.x);
      const error = relativeError(ref.values, got.values);
      const path = form === 'zeros' ? form : c.s === 1 ? 'stride-1 SIMD' : form === 'simd' ? 'strided SIMD' : form;
      report.record(`Conv2DBackpropInput (${path})`, label(c), error);
      expect(error).toBeLessThan(1e-4);
    },
  );
});

test('conv2d gradients through tf.grads agree between cpu and wasm (end to end)', async () => {
  const xs = randomValues([2, 7, 9, 3], 5);
  const ws = randomValues([3, 3, 3, 4], 6);
  const run = () => {
    const loss = (x: tf.Tensor, w: tf.Tensor) =>
      tf
        .conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')
        .square()
        .sum();
    const [dx, dw] = tf.grads(loss)([tf.tensor(xs, [2, 7, 9, 3]), tf.tensor(ws, [3, 3, 3, 4])]);
    return tf.concat([dx.flatten(), dw.flatten()]);
  };
  const ref = await valuesOn('cpu', run);
  const got = await valuesOn('wasm', run);
  expect(relativeError(ref.values, got.values)).toBeLessThan(1e-4);
});

test('the wasm kernels release every intermediate tensor', async () => {
  await tf.setBackend('wasm');
  const x = tf.tensor(randomValues([3, 7, 9, 3], 7), [3, 7, 9, 3]);
  const dy = tf.tensor(randomValues([3, 4, 5, 8], 8), [3, 4, 5, 8]);
  const filter = tf.tensor(randomValues([3, 3, 3, 8], 9), [3, 3, 3, 8]);
  const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC' };
  const once = () => {
    tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: [3, 3, 3, 8] });
    tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: [3, 7, 9, 3] });
  };
  tf.tidy(once);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) tf.tidy(once);
  expect(tf.memory().numTensors).toBe(before);
  tf.dispose([x, dy, filter]);
});

test('NCHW inputs give the NHWC answer, transposed', async () => {
  const [xs, dys, ws] = [
    randomValues([2, 7, 9, 3], 10),
    randomValues([2, 4, 5, 8], 11),
    randomValues([3, 3, 3, 8], 12),
  ];
  const toNCHW = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]);
  const attrs = { strides: 2, pad: 'same' };
  const both = (format: 'NHWC' | 'NCHW') => () => {
    const layout = (t: tf.Tensor) => (format === 'NCHW' ? toNCHW(t) : t);
    const x = layout(tf.tensor(xs, [2, 7, 9, 3]));
    const dy = layout(tf.tensor(dys, [2, 4, 5, 8]));
    const inputShape = format === 'NCHW' ? [2, 3, 7, 9] : [2, 7, 9, 3];
    const dw = tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropFilter,
        { x, dy },
        { ...attrs, dataFormat: format, filterShape: [3, 3, 3, 8] },
      ) as tf.Tensor;
    const dx = tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropInput,
        { dy, filter: tf.tensor(ws, [3, 3, 3, 8]) },
        { ...attrs, dataFormat: format, inputShape },
      ) as tf.Tensor;
    return tf.concat([dw.flatten(), (format === 'NCHW' ? tf.transpose(dx, [0, 2, 3, 1]) : dx).flatten()]);
  };
  const ref = await valuesOn('cpu', both('NHWC'));
  const got = await valuesOn('wasm', both('NCHW'));
  expect(relativeError(ref.values, got.values)).toBeLessThan(1e-4);
});

test("'auto' hands few-channel dx to the stock kernel and still agrees with cpu", async () => {
  const [dys, ws] = [randomValues([3, 4, 5, 8], 13), randomValues([3, 3, 1, 8], 14)];
  const run = () =>
    tf
      .engine()
      .runKernel(
        tf.Conv2DBackpropInput,
        { dy: tf.tensor(dys, [3, 4, 5, 8]), filter: tf.tensor(ws, [3, 3, 1, 8]) },
        { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [3, 7, 9, 1] },
      ) as tf.Tensor;
  const ref = await valuesOn('cpu', run);
  useConv2DBackpropInput('auto');
  try {
    const got = await valuesOn('wasm', run);
    expect(relativeError(ref.values, got.values)).toBeLessThan(1e-4);
  } finally {
    useConv2DBackpropInput('conv2d');
  }
});

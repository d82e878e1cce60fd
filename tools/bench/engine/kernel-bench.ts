// Kernel-alone timings on the reference models' shapes (reference-models.ts, and the bench's own
// models before they came from @trainyard/training, whose figures docs/benchmarks.md quotes): the
// SIMD kernels against the paths they replace, interleaved (A, B, A, B, …) so that load from
// other work hits both alike.
//   node dist/tools/bench/engine/kernel-bench.js [--calls 15] [--rounds 3] [--only Conv2D]
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import os from 'node:os';
import { registerWasmTrainingKernels, useConv2DBackpropFilter, useSimdKernels } from '@trainyard/engine';

const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const calls = flag('calls', 15);
const rounds = flag('rounds', 3);

interface Case {
  label: string;
  run: () => tf.Tensor;
}

function maxPoolGradCase(shape: [number, number, number, number]): Case {
  const x = tf.relu(tf.randomNormal(shape, 0, 1, 'float32', 1)) as tf.Tensor4D;
  const y = tf.maxPool(x, 2, 2, 'valid');
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 2);
  return {
    label: `MaxPoolGrad ${shape.join('x')} pool 2x2 s2`,
    run: () =>
      tf
        .engine()
        .runKernel(
          tf.MaxPoolGrad,
          { dy, input: x, output: y },
          { filterSize: 2, strides: 2, pad: 'valid' },
        ) as tf.Tensor,
  };
}

function depthwiseFilterCase(shape: [number, number, number, number], stride: number): Case {
  const x = tf.randomNormal(shape, 0, 1, 'float32', 3) as tf.Tensor4D;
  const filterShape: [number, number, number, number] = [3, 3, shape[3], 1];
  const out = tf.depthwiseConv2d(x, tf.zeros(filterShape) as tf.Tensor4D, stride, 'same');
  const dy = tf.randomNormal(out.shape, 0, 1, 'float32', 4);
  return {
    label: `DepthwiseConv2dNativeBackpropFilter ${shape.join('x')} 3x3 s${stride}`,
    run: () =>
      tf
        .engine()
        .runKernel(
          tf.DepthwiseConv2dNativeBackpropFilter,
          { x, dy },
          { strides: stride, pad: 'same', dilations: 1, filterShape },
        ) as tf.Tensor,
  };
}

function depthwiseInputCase(shape: [number, number, number, number], stride: number): Case {
  const filter = tf.randomNormal([3, 3, shape[3], 1], 0, 1, 'float32', 10) as tf.Tensor4D;
  const out = tf.backend_util.computeConv2DInfo(shape, filter.shape, stride, 1, 'same', undefined, true).outShape;
  const dy = tf.randomNormal(out, 0, 1, 'float32', 11);
  return {
    label: `DepthwiseConv2dNativeBackpropInput dx ${shape.join('x')} 3x3 s${stride}`,
    run: () =>
      tf
        .engine()
        .runKernel(
          tf.DepthwiseConv2dNativeBackpropInput,
          { dy, filter },
          { strides: stride, pad: 'same', dilations: 1, inputShape: shape },
        ) as tf.Tensor,
  };
}

function conv2dFilterCase(xShape: [number, number, number, number], k: number, cout: number, stride: number): Case {
  const x = tf.randomNormal(xShape, 0, 1, 'float32', 5) as tf.Tensor4D;
  const filterShape: [number, number, number, number] = [k, k, xShape[3], cout];
  const out = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, 1, 'same').outShape;
  const dy = tf.randomNormal(out, 0, 1, 'float32', 6);
  return {
    label: `Conv2DBackpropFilter x ${xShape.join('x')} → dy ${out.join('x')} ${k}x${k} s${stride}`,
    run: () =>
      tf
        .engine()
        .runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: stride, pad: 'same', filterShape }) as tf.Tensor,
  };
}

function inputGradCase(dyShape: [number, number, number, number], cin: number, k = 1, stride = 1): Case {
  const dy = tf.randomNormal(dyShape, 0, 1, 'float32', 7) as tf.Tensor4D;
  const filter = tf.randomNormal([k, k, cin, dyShape[3]], 0, 1, 'float32', 8) as tf.Tensor4D;
  const inputShape: [number, number, number, number] = [dyShape[0], dyShape[1] * stride, dyShape[2] * stride, cin];
  return {
    label: `Conv2DBackpropInput ${k}x${k} s${stride} dy ${dyShape.join('x')} → dx ${inputShape.join('x')}`,
    run: () =>
      tf
        .engine()
        .runKernel(
          tf.Conv2DBackpropInput,
          { dy, filter },
          { strides: stride, pad: 'same', inputShape, dataFormat: 'NHWC' },
        ) as tf.Tensor,
  };
}

function biasSumCase(shape: number[]): Case {
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 9);
  const axis = shape.slice(0, -1).map((_, i) => i);
  return {
    label: `Sum ${shape.join('x')} → [${shape[shape.length - 1]}] (bias gradient)`,
    run: () => tf.engine().runKernel(tf.Sum, { x: dy }, { axis, keepDims: false }) as tf.Tensor,
  };
}

function transposedMatMulCase(a: [number, number], b: [number, number], transposeA: boolean, what: string): Case {
  const x = tf.randomNormal(a, 0, 1, 'float32', 11);
  const y = tf.randomNormal(b, 0, 1, 'float32', 12);
  return {
    label: `BatchMatMul ${a.join('x')}${transposeA ? 'ᵀ' : ''} · ${b.join('x')}${transposeA ? '' : 'ᵀ'} (${what})`,
    run: () => tf.matMul(x, y, transposeA, !transposeA),
  };
}

function minMs(run: () => tf.Tensor): number {
  let best = Infinity;
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    const t = run();
    t.dataSync(); // wasm kernels are synchronous; this only makes sure nothing is deferred
    best = Math.min(best, performance.now() - t0);
    t.dispose();
  }
  return best;
}

async function main(): Promise<void> {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
  const loadBefore = os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
  const cases = [
    maxPoolGradCase([32, 28, 28, 32]),
    maxPoolGradCase([32, 14, 14, 64]),
    maxPoolGradCase([32, 32, 32, 32]),
    maxPoolGradCase([32, 16, 16, 64]),
    depthwiseFilterCase([32, 16, 16, 32], 1),
    depthwiseFilterCase([32, 16, 16, 64], 2),
    depthwiseFilterCase([32, 8, 8, 128], 1),
    // MobileNet depthwise dx (before: depthwiseConv2d of the zero-spread dy, rotated filter)
    depthwiseInputCase([32, 16, 16, 32], 1),
    depthwiseInputCase([32, 16, 16, 64], 2),
    depthwiseInputCase([32, 8, 8, 128], 1),
    // MNIST autoencoder / classifier: conv1, conv2
    conv2dFilterCase([32, 28, 28, 1], 3, 32, 1),
    conv2dFilterCase([32, 14, 14, 32], 3, 64, 1),
    // the earlier MNIST autoencoder's decoder: convT32 s2, convT1 s2
    conv2dFilterCase([32, 14, 14, 32], 3, 64, 2),
    conv2dFilterCase([32, 28, 28, 1], 3, 32, 2),
    // the MNIST autoencoder's decoder: convT64 s2, convT32 s2, conv1
    conv2dFilterCase([32, 14, 14, 64], 3, 64, 2),
    conv2dFilterCase([32, 28, 28, 32], 3, 64, 2),
    conv2dFilterCase([32, 28, 28, 32], 3, 1, 1),
    // 32×32×3 autoencoder: conv1, conv2 (conv1 s2 is also MobileNet's first conv)
    conv2dFilterCase([32, 32, 32, 3], 3, 32, 1),
    conv2dFilterCase([32, 16, 16, 32], 3, 64, 1),
    // the earlier 32×32×3 autoencoder's decoder: convT32 s2, convT3 s2
    conv2dFilterCase([32, 16, 16, 32], 3, 64, 2),
    conv2dFilterCase([32, 32, 32, 3], 3, 32, 2),
    // the 32×32×3 autoencoder's decoder: convT64 s2, convT32 s2, conv3
    conv2dFilterCase([32, 16, 16, 64], 3, 64, 2),
    conv2dFilterCase([32, 32, 32, 32], 3, 64, 2),
    conv2dFilterCase([32, 32, 32, 32], 3, 3, 1),
    // MobileNet pointwise 1×1
    conv2dFilterCase([32, 16, 16, 32], 1, 64, 1),
    conv2dFilterCase([32, 8, 8, 64], 1, 128, 1),
    conv2dFilterCase([32, 8, 8, 128], 1, 128, 1),
    // MobileNet pointwise dx
    inputGradCase([32, 16, 16, 64], 32),
    inputGradCase([32, 8, 8, 128], 64),
    inputGradCase([32, 8, 8, 128], 128),
    // conv2's dx: MNIST classifier and autoencoder, 32×32×3 autoencoder
    inputGradCase([32, 14, 14, 64], 32, 3),
    inputGradCase([32, 16, 16, 64], 32, 3),
    // the autoencoders' last conv's dx (to 1 or 3 channels from 32)
    inputGradCase([32, 28, 28, 1], 32, 3),
    inputGradCase([32, 32, 32, 3], 32, 3),
    // the autoencoders' conv2dTranspose forward passes, stride 2 (before: the phase form, a
    // stride-1 XNNPACK conv per phase and their interleaving): MNIST convT64, convT32; 32×32×3
    // convT64, convT32
    inputGradCase([32, 7, 7, 64], 64, 3, 2),
    inputGradCase([32, 14, 14, 64], 32, 3, 2),
    inputGradCase([32, 8, 8, 64], 64, 3, 2),
    inputGradCase([32, 16, 16, 64], 32, 3, 2),
    // bias gradients (before: tfjs-wasm's Sum, which transposes the channels to the front)
    biasSumCase([32, 28, 28, 32]),
    biasSumCase([32, 14, 14, 64]),
    biasSumCase([32, 28, 28, 1]),
    biasSumCase([32, 32, 32, 3]),
    biasSumCase([32, 16, 16, 64]),
    biasSumCase([32, 8, 8, 128]),
    biasSumCase([32, 10]),
    // the dense layers' gradients (before: tfjs-wasm's scalar loop for any transposed matMul):
    // the autoencoders' bottleneck 3136 ↔ 64 (MNIST) and 4096 ↔ 64 (32×32×3), the classifier's
    // latent 3136 → 64 and head 64 → 10
    transposedMatMulCase([32, 64], [3136, 64], false, 'dx of dense 3136→64'),
    transposedMatMulCase([32, 3136], [32, 64], true, 'dW of dense 3136→64'),
    transposedMatMulCase([32, 3136], [64, 3136], false, 'dx of dense 64→3136'),
    transposedMatMulCase([32, 64], [32, 3136], true, 'dW of dense 64→3136'),
    transposedMatMulCase([32, 64], [4096, 64], false, 'dx of dense 4096→64'),
    transposedMatMulCase([32, 4096], [32, 64], true, 'dW of dense 4096→64'),
    transposedMatMulCase([32, 10], [64, 10], false, 'dx of dense 64→10'),
    transposedMatMulCase([32, 64], [32, 10], true, 'dW of dense 64→10'),
    // wider than the reference models: where XNNPACK's packing pays off, if anywhere
    conv2dFilterCase([32, 16, 16, 128], 3, 128, 1),
    conv2dFilterCase([32, 8, 8, 256], 1, 256, 1),
  ];
  useConv2DBackpropFilter('auto');
  console.log(
    `kernel alone, min of ${calls} calls, ms; ${rounds} interleaved rounds (before: the JS pass, XNNPACK form or stock kernel; SIMD); load ${loadBefore}`,
  );
  for (const c of cases) {
    if (argv.includes('--only') && !c.label.includes(argv[argv.indexOf('--only') + 1])) continue;
    const js: number[] = [];
    const simd: number[] = [];
    for (let r = 0; r < rounds; r++) {
      useSimdKernels(false);
      js.push(minMs(c.run));
      useSimdKernels(true);
      simd.push(minMs(c.run));
    }
    const [a, b] = [Math.min(...js), Math.min(...simd)];
    console.log(`${c.label}: before ${a.toFixed(2)} → SIMD ${b.toFixed(2)} (${(a / b).toFixed(1)}×)`);
  }
  console.log(
    `load after ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { registerWasmTrainingKernels } from './register-wasm-kernels';
import { simdKernelsBuilt } from './simd';

/**
 * The specs check the SIMD kernels, so they must exist: `npm run build` compiles them; from a
 * fresh clone without a build, this compiles them (~1 s) rather than silently testing the JS
 * fallback.
 */
export function requireSimdKernels(): void {
  if (simdKernelsBuilt()) return;
  execFileSync(process.execPath, [resolve(__dirname, '../../assembly/compile.mjs')], { stdio: 'inherit' });
  if (!simdKernelsBuilt()) throw new Error('libs/engine/assembly/compile.mjs did not produce simd-kernels.wasm');
}

/**
 * What every kernel check starts from: the SIMD module built, our kernels registered (`options`
 * as for registerWasmTrainingKernels), and tfjs's test mode, which fails any kernel that leaves
 * backend data behind.
 */
export function prepareKernelChecks(options?: Parameters<typeof registerWasmTrainingKernels>[0]): void {
  requireSimdKernels();
  registerWasmTrainingKernels(options);
  tf.env().set('IS_TEST', true);
}

/** Deterministic values in [-1, 1) so a failing case can be rerun exactly. */
export function randomValues(shape: readonly number[], seed: number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    // xorshift32: good enough for test data, and identical on every run.
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 0x100000000) * 2 - 1;
  }
  return out;
}

/** Runs `fn` with `backend` active and returns its result's values; every tensor is released. */
export async function valuesOn(
  backend: string,
  fn: () => tf.Tensor,
): Promise<{ values: Float32Array; shape: number[] }> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed to initialise`);
  const t = tf.tidy(fn);
  const values = (await t.data()) as Float32Array;
  const shape = t.shape;
  t.dispose();
  return { values, shape };
}

/** max |a - b| relative to max |reference|: one number that does not depend on tensor size. */
export function relativeError(reference: Float32Array, actual: Float32Array): number {
  if (reference.length !== actual.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(reference[i] - actual[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** A [kh, kw, ...] filter with (d-1) zeros between taps: a dilated conv as an undilated one. */
export function dilateFilter(filter: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const src = filter.dataSync();
  const out = tf.buffer([(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co], 'float32');
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let c = 0; c < ci; c++)
        for (let o = 0; o < co; o++) out.set(src[((a * kw + b) * ci + c) * co + o], a * dh, b * dw, c, o);
  return out.toTensor() as tf.Tensor4D;
}

/** The taps of a gradient computed for a dilated-out filter that a dilated filter actually has. */
export function undilateFilter(grad: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  return tf.stridedSlice(grad, [0, 0, 0, 0], grad.shape, [dh, dw, 1, 1]) as tf.Tensor4D;
}

/** Output spatial size of the forward conv, as tfjs computes it (so dy has the right shape). */
export function forwardOutShape(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number,
  pad: 'same' | 'valid' | tf.backend_util.ExplicitPadding,
  dilations: number,
  depthwise: boolean,
): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations, pad, undefined, depthwise);
  return info.outShape;
}

/** Largest error seen per kernel, printed once so a run shows how close we are, not just pass/fail. */
export class ErrorReport {
  private readonly worst = new Map<string, { error: number; label: string }>();
  record(kernel: string, label: string, error: number): void {
    const w = this.worst.get(kernel);
    if (!w || error > w.error) this.worst.set(kernel, { error, label });
  }
  toString(): string {
    return [...this.worst]
      .map(([k, w]) => `${k}: max relative error ${w.error.toExponential(2)} (${w.label})`)
      .join('\n');
  }
}

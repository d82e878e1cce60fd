import * as tf from '@tensorflow/tfjs';
import { ConvGeometry, padOrCrop } from './conv-geometry';

/**
 * dx of a strided conv (the forward pass of a strided conv2dTranspose) without multiplying by
 * inserted zeros. dx row y = p + s·u (output phase p < s) only receives taps a ≡ (p + pad) mod s
 * (dilation 1): taps r, r+s, …, a T-tap sub-filter. So each of the s_h·s_w phases is a
 * stride-1 valid conv of dy with its sub-filter (taps reversed, in/out channels swapped), and
 * the phases interleave back with a stack + reshape. At stride 2 that is 1/4 of the
 * multiplications the zero-insertion form does.
 */
export function backpropInputByPhases(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const [kh, kw, cin] = filter.shape;
  const sh = g.strideHeight;
  const sw = g.strideWidth;
  const uh = Math.ceil(g.inHeight / sh);
  const uw = Math.ceil(g.inWidth / sw);
  const rows: tf.Tensor4D[] = [];
  for (let py = 0; py < sh; py++) {
    const cols: tf.Tensor4D[] = [];
    for (let px = 0; px < sw; px++) {
      const h = phaseAxis(py, g.padTop, sh, kh, uh, g.outHeight);
      const w = phaseAxis(px, g.padLeft, sw, kw, uw, g.outWidth);
      if (h.taps === 0 || w.taps === 0) {
        cols.push(tf.zeros([g.batch, uh, uw, cin]));
        continue;
      }
      // Taps r, r+s, … reversed, as a [T_h, T_w, Cout, Cin] filter over dy.
      const sub = tf.stridedSlice(
        filter,
        [h.first, w.first, 0, 0],
        [h.first + (h.taps - 1) * sh + 1, w.first + (w.taps - 1) * sw + 1, cin, filter.shape[3]],
        [sh, sw, 1, 1],
      ) as tf.Tensor4D;
      const rotated = tf.transpose(tf.reverse(sub, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const window = padOrCrop(dy, [h.before, h.after], [w.before, w.after]);
      cols.push(tf.conv2d(window, rotated, 1, 'valid'));
    }
    rows.push(tf.stack(cols, 3) as tf.Tensor4D); // [N, uh, uw, sw, Cin]
  }
  const interleaved = tf.reshape(tf.stack(rows, 2), [g.batch, uh * sh, uw * sw, cin]) as tf.Tensor4D; // [N, uh, sh, uw, sw, Cin]
  if (uh * sh === g.inHeight && uw * sw === g.inWidth) return interleaved;
  return tf.slice(interleaved, [0, 0, 0, 0], [g.batch, g.inHeight, g.inWidth, cin]);
}

/**
 * One spatial axis of one phase: the first tap r ≡ (phase + pad) mod s, how many taps, and
 * how to pad (or crop) dy so that a valid conv yields `count` outputs:
 * dx[p + s·u] = Σ_t dy[u + q − t] · w[r + s·t], q = (p + pad − r) / s.
 */
function phaseAxis(phase: number, pad: number, s: number, k: number, count: number, dyLength: number) {
  const first = (((phase + pad) % s) + s) % s;
  const taps = first < k ? Math.ceil((k - first) / s) : 0;
  const q = (phase + pad - first) / s;
  const start = q - taps + 1; // dy index under the first output's first (reversed) tap
  return { first, taps, before: -start, after: start + count + taps - 1 - dyLength };
}

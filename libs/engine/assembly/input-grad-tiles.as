// The register-tile reductions both dense dx kernels end with (pointwise-input-grad.as and
// conv2d-input-grad.as): 2 positions × 4 input channels summed along Cout.

/** [Σ a, Σ b, Σ c, Σ d] over each vector's lanes: a 4×4 transpose-add. */
// @ts-ignore: decorator
@inline
export function sum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 2, 6), v128.shuffle<f32>(a, b, 1, 5, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 2, 6), v128.shuffle<f32>(c, d, 1, 5, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/** The co ≥ co4 remainder of four filter rows' dot products with one dy row (zero if none). */
// @ts-ignore: decorator
@inline
export function tail4(g: usize, w0: usize, co4: i32, cout: i32, rowG: usize): v128 {
  let t = f32x4.splat(0);
  for (let co = co4; co < cout; co++) {
    const o = <usize>co << 2;
    const v: v128 = f32x4.splat(load<f32>(g + o));
    const k = f32x4(load<f32>(w0 + o), load<f32>(w0 + rowG + o), load<f32>(w0 + 2 * rowG + o), load<f32>(w0 + 3 * rowG + o));
    t = f32x4.add(t, f32x4.mul(v, k));
  }
  return t;
}

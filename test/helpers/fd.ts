/**
 * Test oracle for gradients: a central finite-difference gradient (compare with assert.ts's
 * `assertClose`). Deliberately free of tfjs: the function under test is re-written in plain float64 JS,
 * so a bug in tfjs (or in how we call it) cannot make the oracle agree with it by construction.
 *
 * Why float64 and a separate plain-JS function, rather than finite-differencing the tfjs function
 * itself: a float32 forward pass has ~1e-7 relative rounding, which a central difference divides by
 * 2h, so at h = 1e-3 the FD error would be ~1e-4 relative and swamp real but small gradient bugs. In
 * float64 the same difference is accurate to ~1e-10 (plus O(h^2) truncation), leaving the float32
 * rounding of the tfjs gradient (~1e-6 relative) as the only slack the comparison has to allow for.
 *
 * Feed both sides the same inputs: round the float64 test data through a Float32Array first (as
 * `tf.tensor` does), so the oracle differentiates at exactly the point tfjs sees.
 */

/**
 * Central finite-difference gradient of a scalar function of several arrays, in float64:
 * `g[k][i] = (f(x + h e_ki) - f(x - h e_ki)) / 2h`. Truncation error is O(h^2 * f'''); for functions
 * linear in each entry (matmul, tensordot, dense layers) it is exactly zero, so only rounding remains.
 *
 * `f` receives float64 working copies of `at`, one entry perturbed at a time; it must not modify
 * them or keep them. `at` itself is not modified. Costs `2 * (total entries)` calls of `f`.
 *
 * @param f    the function, e.g. a plain-JS loss of (inputs, params)
 * @param at   the point: one array per argument of `f`
 * @param h    the absolute step (default 1e-3); use a step comparable to the inputs' scale
 * @returns    one gradient array per argument, same lengths as `at`
 *
 * @example
 * ```ts
 * // d/dx sum(x^3) = 3x^2
 * const [g] = fdGrad(([x]) => x!.reduce((s, v) => s + v ** 3, 0), [Float64Array.of(1, 2)]);
 * assertClose(g!, [3, 12], { rtol: 1e-5 }, 'd sum(x^3)');
 * ```
 */
export function fdGrad(f: (xs: Float64Array[]) => number, at: readonly ArrayLike<number>[], h = 1e-3): Float64Array[] {
  if (!(h > 0 && Number.isFinite(h))) throw new RangeError(`h: expected a finite step > 0, got ${h}`);
  const xs = at.map((a) => Float64Array.from(a));
  const call = (k: number, i: number): number => {
    const v = f(xs);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new RangeError(`fdGrad: f returned ${String(v)} with argument ${k} entry ${i} perturbed; expected a finite number`);
    }
    return v;
  };
  return xs.map((x, k) => {
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i]!;
      x[i] = x0 + h;
      const up = call(k, i);
      x[i] = x0 - h;
      const down = call(k, i);
      x[i] = x0; // restore exactly, so later entries are differentiated at the original point
      g[i] = (up - down) / (2 * h);
    }
    return g;
  });
}

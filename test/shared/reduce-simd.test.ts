// The WebAssembly SIMD sum of partial rows against the plain loop it replaces (written out here as the
// oracle): the same bits for every element, over block edges and odd slice ends, for 0 to 5 rows, with
// a scale, a divisor or a running start, into float32 and float64 outputs, on ordinary, subnormal,
// huge (overflowing), infinite, zero and signed-zero values; NaNs agree as NaNs. And reduce.ts's
// entry points, which choose between the kernel and the loop by width, give the loop's bits at both.
import assert from 'node:assert/strict';
import { foldPartials, reducePartials, reducePartialsDivided } from '../../src/shared/reduce.js';
import { sumRowsSimd } from '../../src/shared/reduce-simd.js';
import { Rng } from '../../src/rng.js';

const P = 2 * 4096 + 37;
const rng = new Rng(11);
const edge = [0, -0, 5e-324, -1e-310, 1.4e-45, 1.7e308, -1.7e308, 3e38, Infinity, -Infinity, NaN, 1e20, 1e-20];

function rows(count: number): Float64Array {
  return Float64Array.from({ length: count * P }, (_, i) => (i % 13 === 0 ? edge[(i / 13) % edge.length]! : Math.fround(rng.normal())));
}

/** The oracle: each element's sum from its start, row by row in order, then × scale, then / divisor. */
function loop(r: Float64Array, count: number, lo: number, hi: number, scale: number, divisor: number | undefined, from?: Float64Array): number[] {
  const out: number[] = [];
  for (let k = lo; k < hi; k++) {
    let s = from ? from[k - lo]! : 0;
    for (let c = 0; c < count; c++) s += r[c * P + k]!;
    s *= scale;
    out.push(divisor === undefined ? s : s / divisor);
  }
  return out;
}

function sameBits(got: Float32Array | Float64Array, want: number[], what: string): void {
  const ref = got instanceof Float32Array ? Float32Array.from(want) : Float64Array.from(want);
  assert.equal(got.length, ref.length, what);
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(ref[i])) continue;
    if (!Object.is(got[i], ref[i])) assert.fail(`${what}[${i}]: SIMD ${got[i]} vs loop ${ref[i]}`);
  }
}

describe('partial-row sums in WebAssembly SIMD', () => {
  const slices = [[0, P], [3, 4096 + 5], [4095, 4097], [P - 1, P], [10, 10]] as const;

  it('the loop’s bits for 0–5 rows, any slice, with a scale or a divisor, into float32 and float64', () => {
    for (const count of [0, 1, 2, 3, 5]) {
      const r = rows(count);
      for (const [lo, hi] of slices)
        for (const [scale, divisor] of [[1, undefined], [1 / 128, undefined], [3, undefined], [1, 128], [1, 3], [1, 0]] as const)
          for (const Out of [Float32Array, Float64Array]) {
            const out = new Out(hi - lo);
            assert.equal(sumRowsSimd(r, count, P, out, lo, hi, { scale, ...(divisor !== undefined ? { divisor } : {}) }), true, 'WebAssembly SIMD is available on Node ≥ 20');
            sameBits(out, loop(r, count, lo, hi, scale, divisor), `${count} rows [${lo}, ${hi}) ×${scale} /${divisor} ${Out.name}`);
          }
    }
  });

  it('continues running sums in place (from = out)', () => {
    const r = rows(3);
    const acc = rows(1).subarray(0, P);
    const want = loop(r, 3, 0, P, 1, undefined, acc);
    assert.equal(sumRowsSimd(r, 3, P, acc, 0, P, { from: acc }), true);
    sameBits(acc, want, 'in place');
  });

  it('reducePartials, reducePartialsDivided and foldPartials give the loop’s bits, narrow (loop) and wide (kernel)', () => {
    const r = rows(4);
    for (const [lo, hi] of [[0, P], [100, 140], [7, 8]] as const) {
      const o32 = new Float32Array(hi - lo);
      reducePartials(r, 4, P, o32, 1 / 64, lo, hi);
      sameBits(o32, loop(r, 4, lo, hi, 1 / 64, undefined), `reducePartials [${lo}, ${hi})`);
      const d32 = new Float32Array(hi - lo);
      reducePartialsDivided(r, 4, P, d32, 96, lo, hi);
      sameBits(d32, loop(r, 4, lo, hi, 1, 96), `reducePartialsDivided [${lo}, ${hi})`);
    }
    for (const width of [P, 9]) {
      const part = rows(3).subarray(0, 3 * width);
      const acc = Float64Array.from({ length: width }, () => rng.normal());
      const want = Array.from(acc, (a, k) => a + part[k]! + part[width + k]! + part[2 * width + k]!);
      foldPartials(part, 3, width, acc);
      sameBits(acc, want, `foldPartials width ${width}`);
    }
  });
});

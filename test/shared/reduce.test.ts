import assert from 'node:assert/strict';
import { allFinite, countAbove, l2Norm, orderedSum, reducePartials } from '../../src/shared/reduce.js';
import { sameBytes } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';

describe('shared: reductions', () => {
  it('reducePartials sums the chunk rows in chunk order (float addition is not associative)', () => {
    // Column 0: (1e16 + 1) - 1e16 = 0 in chunk order; any other order gives 1 or 2.
    const P = 2;
    const partial = Float64Array.from([1e16, 5, 1, 6, -1e16, 7]);
    const out = new Float64Array(P);
    reducePartials(partial, 3, P, out);
    assert.deepEqual(Array.from(out), [0, 18]);
  });

  it('scales after summing, and a slice [lo, hi) gives the bits of the whole', () => {
    const P = 37;
    const chunks = 5;
    const partial = Float64Array.from(randn(P * chunks, 3));
    const whole = new Float32Array(P);
    reducePartials(partial, chunks, P, whole, 1 / 7);
    const hand = new Float32Array(P);
    for (let k = 0; k < P; k++) {
      let s = 0;
      for (let c = 0; c < chunks; c++) s += partial[c * P + k]!;
      hand[k] = s * (1 / 7);
    }
    assert.ok(sameBytes(whole, hand));
    const sliced = new Float32Array(P);
    for (const [lo, hi] of [[0, 10], [10, 11], [11, 37]] as const) {
      const part = new Float32Array(hi - lo);
      reducePartials(partial, chunks, P, part, 1 / 7, lo, hi);
      sliced.set(part, lo);
    }
    assert.ok(sameBytes(sliced, whole));
  });

  it('orderedSum, countAbove and l2Norm agree with hand computations', () => {
    assert.equal(orderedSum([1e16, 1, -1e16]), 0);
    assert.equal(orderedSum(Float32Array.from([1, 2, 3, 4]), 2), 3);
    assert.equal(countAbove(Float32Array.from([0.5, 1, 1.5, NaN, 2]), 1), 2);
    assert.equal(l2Norm(Float32Array.from([3, 4])), 5);
    assert.equal(l2Norm(new Float32Array(0)), 0);
  });

  it('allFinite is false for any NaN or ±Infinity, true for finite values, -0 and nothing', () => {
    assert.equal(allFinite(Float32Array.from([1, -0, 3.4e38, -1e-45])), true);
    assert.equal(allFinite(new Float32Array(0)), true);
    for (const bad of [NaN, Infinity, -Infinity]) assert.equal(allFinite(Float64Array.from([0, 1, bad, 2])), false, String(bad));
    // Every position of arrays of every length mod 4 (the unrolled body and its tail), and +∞ with -∞ in different lanes.
    for (let n = 1; n <= 9; n++)
      for (let at = 0; at < n; at++)
        for (const bad of [NaN, Infinity, -Infinity]) {
          const v = new Float32Array(n).fill(1.5);
          v[at] = bad;
          assert.equal(allFinite(v), false, `n ${n}, ${bad} at ${at}`);
        }
    const mixed = new Float32Array(8).fill(2);
    mixed[1] = Infinity;
    mixed[6] = -Infinity;
    assert.equal(allFinite(mixed), false);
  });
});

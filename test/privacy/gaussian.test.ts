// The counter-based DP noise: Philox4x32-10 against the Random123 known-answer vectors, and the
// noise's slicing invariance and distribution.
import assert from 'node:assert/strict';
import { addNoise, noiseAt, philox4x32 } from '../../src/privacy/gaussian.js';

describe('privacy: Philox4x32-10 noise', function () {
  // Known-answer vectors from Random123's kat_vectors (format: counter[4] key[2] -> output[4]).
  const KAT: [number[], number[], number[]][] = [
    [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
    [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
    [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
  ];
  KAT.forEach(([ctr, key, want], i) =>
    it(`matches Random123 known-answer vector ${i + 1}`, () => assert.deepEqual(Array.from(philox4x32(ctr, key)), want)),
  );

  it("the allocation-free mulhi gives the reference 64-bit product's high word for 200k operand pairs, extremes included", () => {
    // Reference: the exact product in BigInt.
    const hi = (a: number, b: number) => Number((BigInt(a) * BigInt(b)) >> 32n);
    let s = 12345;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    const pairs: [number, number][] = [[0, 0], [0xffffffff, 0xffffffff], [0xffffffff, 1], [0x80000000, 0x80000000], [0xd2511f53, 0xffffffff], [0xcd9e8d57, 0xfffffffe]];
    for (let i = 0; i < 200_000; i++) pairs.push([next(), next()]);
    // mulhi is internal: a 1-round Philox from counter (a, 0, b, 0) and key (0, 0) exposes hi(M0·a) and hi(M1·b).
    for (const [a, b] of pairs) {
      const w = philox4x32([a, 0, b, 0], [0, 0], 1);
      assert.equal(w[0], hi(0xcd9e8d57, b) >>> 0, `hi(M1 * ${b})`);
      assert.equal(w[2], hi(0xd2511f53, a) >>> 0, `hi(M0 * ${a})`);
    }
  });

  it('gives each element the same noise whatever slices it is generated in', () => {
    const whole = new Float64Array(1001);
    addNoise(whole, 0, 1001, 0.7, 12345, 9);
    const sliced = new Float64Array(1001);
    for (const [lo, hi] of [[0, 3], [3, 500], [500, 501], [501, 1001]] as const) {
      const part = new Float64Array(hi - lo);
      addNoise(part, lo, hi, 0.7, 12345, 9, lo);
      sliced.set(part, lo);
    }
    assert.deepEqual(sliced, whole);
    assert.equal(whole[77], 0.7 * noiseAt(12345, 9, 77));
  });

  it('addNoise (the block-walking loop) gives every element noiseAt\'s bits, for odd and even slice ends, large seeds and steps', () => {
    for (const [seed, step, lo, hi] of [[12345, 9, 0, 1001], [2 ** 40 + 17, 2 ** 31 + 5, 3, 998], [7, 0, 1, 2], [99, 4, 10, 11]] as const) {
      const got = new Float64Array(hi - lo);
      addNoise(got, lo, hi, 0.3, seed, step, lo);
      for (let k = lo; k < hi; k++) assert.ok(Object.is(got[k - lo], 0 + 0.3 * noiseAt(seed, step, k)), `seed ${seed}, step ${step}, element ${k}`);
    }
  });

  it('changes with the step and the seed', () => {
    assert.notEqual(noiseAt(1, 1, 0), noiseAt(1, 2, 0));
    assert.notEqual(noiseAt(1, 1, 0), noiseAt(2, 1, 0));
  });

  it('is standard normal: mean, variance and tails of 200k draws', () => {
    const n = 200_000;
    const v = new Float64Array(n);
    addNoise(v, 0, n, 1, 42, 1);
    const mean = v.reduce((a, b) => a + b, 0) / n;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
    const beyond2 = v.filter((z) => Math.abs(z) > 2).length / n;
    // Standard errors: mean 1/sqrt(n) = 0.0022; variance sqrt(2/n) = 0.0032; P(|z|>2) = 0.0455 ± 0.0005.
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.015, `variance ${variance}`);
    assert.ok(Math.abs(beyond2 - 0.0455) < 0.002, `P(|z|>2) ${beyond2}`);
  });
});

import assert from 'node:assert/strict';
import { circularSelfConvolve, convolveSame, dft } from '../../src/privacy/fft.js';
import { gaussKronrod21, integrate } from '../../src/privacy/quad.js';

/** A seeded uniform in [-1, 1) (xorshift), so the tests are deterministic. */
function rand(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 31 - 1;
  };
}

/** The textbook O(n²) DFT, with angles reduced mod n exactly: the oracle. */
function naiveDft(re: Float64Array, im: Float64Array, inverse = false): [Float64Array, Float64Array] {
  const n = re.length;
  const or = new Float64Array(n);
  const oi = new Float64Array(n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      or[k]! += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      oi[k]! += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
  }
  return [or, oi];
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
function assertClose(got: Float64Array, want: Float64Array, tol: number, what: string) {
  assert.equal(got.length, want.length, what);
  const scale = Math.max(1, maxAbs(want));
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol * scale, `${what}[${i}]: got ${got[i]}, want ${want[i]}`);
}

describe('privacy/fft: DFT of any length (radix 2 and Bluestein) against the naive DFT', () => {
  for (const n of [1, 2, 3, 5, 6, 8, 12, 64, 100, 257, 1000, 1024]) {
    it(`n = ${n}, forward and inverse`, () => {
      const r = rand(n);
      const re = Float64Array.from({ length: n }, r);
      const im = Float64Array.from({ length: n }, r);
      for (const inverse of [false, true]) {
        const [wr, wi] = naiveDft(re, im, inverse);
        const gr = re.slice();
        const gi = im.slice();
        dft(gr, gi, inverse);
        assertClose(gr, wr, 1e-12, 're');
        assertClose(gi, wi, 1e-12, 'im');
      }
    });
  }
});

describe('privacy/fft: convolutions', () => {
  it('circularSelfConvolve(p, k) is the k-fold circular convolution (irfft(rfft(p)**k))', () => {
    for (const [n, k] of [[6, 1], [6, 3], [10, 2], [1000, 4], [512, 5]] as const) {
      const r = rand(n + k);
      const p = Float64Array.from({ length: n }, () => Math.abs(r()));
      let want = p.slice();
      for (let s = 1; s < k; s++) {
        const next = new Float64Array(n);
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) next[(i + j) % n]! += want[i]! * p[j]!;
        want = next;
      }
      assertClose(circularSelfConvolve(p, k), want, 1e-12, `n=${n} k=${k}`);
    }
  });

  it('convolveSame is the centre of the full linear convolution (scipy mode="same")', () => {
    for (const n of [2, 6, 7, 100, 130]) {
      const r = rand(3 * n);
      const a = Float64Array.from({ length: n }, r);
      const b = Float64Array.from({ length: n }, r);
      const full = new Float64Array(2 * n - 1);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) full[i + j]! += a[i]! * b[j]!;
      const start = Math.floor((n - 1) / 2);
      assertClose(convolveSame(a, b), full.slice(start, start + n), 1e-12, `n=${n}`);
    }
  });
});

describe('privacy/quad: Gauss–Kronrod', () => {
  it('QK21 integrates polynomials up to degree 31 exactly (and the Gauss part to degree 19)', () => {
    for (let d = 0; d <= 31; d++) {
      const { value, error } = gaussKronrod21((x) => x ** d, -1, 2);
      const exact = (2 ** (d + 1) - (-1) ** (d + 1)) / (d + 1);
      assert.ok(Math.abs(value - exact) <= 1e-13 * Math.max(1, Math.abs(exact)), `degree ${d}: ${value} vs ${exact}`);
      if (d <= 19) assert.ok(error <= 1e-12 * Math.max(1, Math.abs(exact)), `degree ${d}: gauss/kronrod disagree by ${error}`);
    }
  });

  it('adaptive integration of a peaked integrand meets its tolerance', () => {
    // ∫_{-10}^{10} 1/(1 + 1000 x²) dx = 2 atan(10 √1000) / √1000.
    const exact = (2 * Math.atan(10 * Math.sqrt(1000))) / Math.sqrt(1000);
    const { value } = integrate((x) => 1 / (1 + 1000 * x * x), -10, 10, { limit: 500 });
    assert.ok(Math.abs(value - exact) <= 1e-10, `${value} vs ${exact}`);
  });
});

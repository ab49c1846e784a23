// The secure-mode Gaussian sampler (node:crypto bits, Opacus's sum of four normals): its distribution,
// by moments and a Kolmogorov–Smirnov test on a fixed large sample.
//
// These are statistical tests of a non-reproducible generator, so they can fail by chance. Each
// threshold is fixed in advance: the KS test at alpha = 1e-6 (asymptotic Kolmogorov critical value
// sqrt(ln(2/alpha)/2)/sqrt(n)), the moments at 6 standard errors (each ~2e-9 two-sided). The
// probability of a false failure of this file is about 1e-6 per run.
import assert from 'node:assert/strict';
import { addSecureNoise, secureStandardNormal } from '../../src/privacy/secure-noise.js';
import { erfc } from '../../src/privacy/logmath.js';

const n = 100_000;
const phi = (x: number) => erfc(-x / Math.SQRT2) / 2;
const ALPHA = 1e-6;
const KS_CRITICAL = Math.sqrt(Math.log(2 / ALPHA) / 2) / Math.sqrt(n); // 0.00852

/** The KS statistic sup |F_n − Φ(·/std)| of a sample. */
function ks(sample: Float64Array, std = 1): number {
  const s = sample.slice().sort();
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    const f = phi(s[i]! / std);
    d = Math.max(d, Math.abs(f - i / s.length), Math.abs((i + 1) / s.length - f));
  }
  return d;
}

describe('privacy/secure-noise: the distribution of the node:crypto Gaussian', () => {
  const sample = Float64Array.from({ length: n }, secureStandardNormal);

  it('has the moments of N(0, 1): mean 0, variance 1, fourth moment 3 (6 standard errors each)', () => {
    const mean = sample.reduce((a, v) => a + v, 0) / n;
    const m2 = sample.reduce((a, v) => a + v * v, 0) / n;
    const m4 = sample.reduce((a, v) => a + v ** 4, 0) / n;
    assert.ok(Math.abs(mean) < 6 / Math.sqrt(n), `mean ${mean}`);
    assert.ok(Math.abs(m2 - 1) < 6 * Math.sqrt(2 / n), `variance ${m2}`);
    assert.ok(Math.abs(m4 - 3) < 6 * Math.sqrt(96 / n), `fourth moment ${m4}`);
  });

  it(`passes a Kolmogorov–Smirnov test against N(0, 1) at alpha = 1e-6 (D < ${KS_CRITICAL.toFixed(5)})`, () => {
    const d = ks(sample);
    assert.ok(d < KS_CRITICAL, `KS statistic ${d} >= ${KS_CRITICAL}`);
  });

  it('the KS test has power: the same sample read as N(0, 1.05²) or shifted by 0.03 is rejected', () => {
    assert.ok(ks(sample, 1.05) > KS_CRITICAL);
    assert.ok(ks(sample.map((v) => v + 0.03)) > KS_CRITICAL);
  });

  it('addSecureNoise adds std · N(0, 1) to the slice it is given, and fresh noise each time', () => {
    const out = new Float64Array(n).fill(5);
    addSecureNoise(out, 0, n, 2.5);
    assert.ok(ks(out.map((v) => v - 5), 2.5) < KS_CRITICAL);
    const a = new Float64Array(8);
    const b = new Float64Array(8);
    addSecureNoise(a, 100, 108, 1, 100); // slice buffer starting at element 100, as the sharded update uses it
    addSecureNoise(b, 100, 108, 1, 100);
    assert.ok(a.every((v) => v !== 0) && a.some((v, i) => v !== b[i]));
    const untouched = new Float64Array(4);
    addSecureNoise(untouched, 0, 4, 0);
    assert.deepEqual(Array.from(untouched), [0, 0, 0, 0]);
  });
});

/**
 * Gaussian noise for DP-SGD from a cryptographically secure generator (`dp.secureRng: true`), the
 * counterpart of Opacus's `secure_mode`.
 *
 * Source of randomness: `crypto.randomFillSync` (node:crypto, the OS CSPRNG via OpenSSL), so the
 * noise cannot be predicted or replayed from a seed — unlike the default counter-based Philox
 * stream (gaussian.ts), which anyone holding the pool seed can regenerate and subtract.
 *
 * Sampling method, and why it does not leak through floating point: a single Box–Muller (or polar)
 * normal in float64 takes values on a sparse, uneven set of doubles, so the low bits of a released
 * `x + noise` reveal which x it came from (Mironov 2012, "On significance of the least significant
 * bits for differential privacy"; for DP-SGD libraries, Jin, McMurtry, Rubinstein & Ohrimenko 2022,
 * "Are we there yet? Timing and floating-point attacks on differential privacy systems",
 * arXiv:2112.05307). We use the fix Opacus's `_generate_noise` implements in secure mode (Holohan &
 * Braghin 2021, "Secure Random Sampling in Differential Privacy", arXiv:2107.10138, Section 5.1,
 * with n = 2): each noise value is the sum of 2n = 4 independent N(0, std²) draws divided by 2,
 * which is again exactly N(0, std²) in distribution, while the set of reachable doubles becomes
 * dense: inverting the sampler needs ~2^(p(2n−1)) = 2^159 work for p = 53 bits instead of 2^53.
 * Each draw is Box–Muller on two uniforms of 53 random bits from the CSPRNG. (Opacus also throws
 * one draw away first, to desynchronise a shared generator; a CSPRNG has no state to desync.)
 *
 * What this mode gives up: the noise is not reproducible, so training is NOT bit-identical across
 * thread counts or runs, and a resumed run does not replay the interrupted one's noise.
 */
import { randomFillSync } from 'node:crypto';

const TWO_POW_53 = 9007199254740992;
/** Words of randomness fetched per call to the CSPRNG (64 KiB): bounds memory, amortises the call. */
const CHUNK = 16384;
let pool = new Uint32Array(CHUNK);
let next = CHUNK;

/** 32 random bits from the CSPRNG. */
function word(): number {
  if (next === CHUNK) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]!;
}

/** A uniform on (0, 1] with 53 random bits (never 0, so the log below is finite). */
const uniformOpenZero = () => ((word() >>> 5) * 67108864 + (word() >>> 6) + 1) / TWO_POW_53;
const uniform = () => ((word() >>> 5) * 67108864 + (word() >>> 6)) / TWO_POW_53;

/** One standard normal as (N1 + N2 + N3 + N4) / 2 from two Box–Muller pairs (Holohan & Braghin 2021, §5.1). */
export function secureStandardNormal(): number {
  let sum = 0;
  for (let pair = 0; pair < 2; pair++) {
    const r = Math.sqrt(-2 * Math.log(uniformOpenZero()));
    const a = 2 * Math.PI * uniform();
    sum += r * Math.cos(a) + r * Math.sin(a);
  }
  return sum / 2;
}

/**
 * Adds `std * N(0,1)` from the CSPRNG to `out[k - offset]` for k in [lo, hi): the secure counterpart
 * of gaussian.ts's `addNoise` (same slice convention), with no seed and no determinism.
 *
 * @example
 * ```ts
 * const g = new Float64Array(4);
 * addSecureNoise(g, 0, 4, 1.1); // g now holds four independent N(0, 1.21) draws
 * ```
 */
export function addSecureNoise(out: Float64Array | Float32Array, lo: number, hi: number, std: number, offset = 0): void {
  if (std === 0 || hi <= lo) return;
  for (let k = lo; k < hi; k++) out[k - offset] = out[k - offset]! + std * secureStandardNormal();
}

/** Drops any buffered randomness (tests use it to show nothing carries over between draws). */
export function resetSecureNoise(): void {
  pool = new Uint32Array(CHUNK);
  next = CHUNK;
}

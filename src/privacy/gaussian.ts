/**
 * Counter-based Gaussian noise for DP-SGD. Noise for parameter element k at step t is a pure function
 * of (seed, t, k), so any worker can generate the noise for any slice of the parameters, in any order,
 * and the result is bit-identical to generating it all on one thread — the property that lets the
 * noisy update run sharded across workers and still be reproducible for any thread count, and replay
 * exactly after a resume without saving any generator state.
 *
 * Generator: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
 * counter-based generator behind JAX's and cuRAND's defaults. Each 4×32-bit block gives two 53-bit
 * uniforms and, via Box–Muller, two normals. Not a cryptographically secure generator (as Opacus
 * without secure_mode).
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/**
 * The high 32 bits of the 64-bit product of two uint32s, exactly: four 16×16-bit products, each
 * exact in float64, recombined with integer shifts (no division, no allocation: this runs once per
 * Philox round, ten per two noise values).
 */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const lh = al * bh;
  const hl = ah * bl;
  const mid = ((al * bl) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (ah * bh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** The last block {@link philoxInto} computed (module scratch: the noise loop allocates nothing). */
const block4 = new Uint32Array(4);

/** Philox4x32 with `rounds` rounds into `out`, from counter words c0..c3 and key words k0, k1. */
function philoxInto(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, rounds: number, out: Uint32Array): void {
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Philox4x32 with `rounds` rounds (10 is the standard). Returns a new 4-word block. */
export function philox4x32(ctr: ArrayLike<number>, key: ArrayLike<number>, rounds = 10): Uint32Array {
  const out = new Uint32Array(4);
  philoxInto(ctr[0]! >>> 0, ctr[1]! >>> 0, ctr[2]! >>> 0, ctr[3]! >>> 0, key[0]! >>> 0, key[1]! >>> 0, rounds, out);
  return out;
}

const TWO_POW_53 = 9007199254740992;
const NOISE_TAG = 0x6e6f6973; // "nois"

/** Two standard normals for block `block` of step `step` under `seed`. */
function normalPair(seed: number, step: number, block: number, out: Float64Array): void {
  philoxInto(block >>> 0, Math.floor(block / 2 ** 32) >>> 0, step >>> 0, NOISE_TAG, seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, 10, block4);
  const w = block4;
  // (0, 1] so the log is finite; 53 random bits each.
  const u1 = ((w[0]! >>> 5) * 67108864 + (w[1]! >>> 6) + 1) / TWO_POW_53;
  const u2 = ((w[2]! >>> 5) * 67108864 + (w[3]! >>> 6)) / TWO_POW_53;
  const r = Math.sqrt(-2 * Math.log(u1));
  out[0] = r * Math.cos(2 * Math.PI * u2);
  out[1] = r * Math.sin(2 * Math.PI * u2);
}

/** The standard normal assigned to element `k` at `step` under `seed` (for tests and spot checks). */
export function noiseAt(seed: number, step: number, k: number): number {
  const pair = new Float64Array(2);
  normalPair(seed, step, Math.floor(k / 2), pair);
  return pair[k & 1]!;
}

/**
 * Adds `std * N(0,1)` noise for elements k in [lo, hi) to `out[k - offset]`; element k's noise depends
 * only on (seed, step, k). `offset` lets a slice buffer start at element `lo`.
 */
export function addNoise(out: Float64Array | Float32Array, lo: number, hi: number, std: number, seed: number, step: number, offset = 0): void {
  if (std === 0 || hi <= lo) return;
  const pair = new Float64Array(2);
  let block = -1;
  for (let k = lo; k < hi; k++) {
    const b = Math.floor(k / 2);
    if (b !== block) {
      normalPair(seed, step, b, pair);
      block = b;
    }
    out[k - offset] = out[k - offset]! + std * pair[k & 1]!;
  }
}

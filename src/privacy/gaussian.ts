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

/** High and low 32 bits of the 64-bit product of two uint32s, exactly, in float64 arithmetic. */
function mulhi(a: number, b: number): number {
  const ah = a >>> 16;
  const al = a & 0xffff;
  const bh = b >>> 16;
  const bl = b & 0xffff;
  const mid = ah * bl + al * bh + Math.floor((al * bl) / 65536);
  return (ah * bh + Math.floor(mid / 65536)) >>> 0;
}

/** Philox4x32 with `rounds` rounds (10 is the standard). Returns a new 4-word block. */
export function philox4x32(ctr: ArrayLike<number>, key: ArrayLike<number>, rounds = 10): Uint32Array {
  let c0 = ctr[0]! >>> 0;
  let c1 = ctr[1]! >>> 0;
  let c2 = ctr[2]! >>> 0;
  let c3 = ctr[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
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
  return Uint32Array.of(c0, c1, c2, c3);
}

const TWO_POW_53 = 9007199254740992;

/** Two standard normals for block `block` of step `step` under `seed`. */
function normalPair(seed: number, step: number, block: number, out: Float64Array): void {
  const w = philox4x32([block >>> 0, Math.floor(block / 2 ** 32), step >>> 0, 0x6e6f6973 /* "nois" */], [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0]);
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

/**
 * A small, seedable, serialisable random generator. gradpool needs randomness in three places
 * (parameter init, shuffling, DP noise) and all three must replay bit-exactly from a seed and from a
 * saved state after a crash, independent of tfjs's own generator and of thread count. So the state
 * is four uint32 words that can be copied into a checkpoint and back.
 *
 * Algorithm: xoshiro128** (Blackman & Vigna), seeded through splitmix32 so that nearby seeds give
 * unrelated streams. Normals come from Box–Muller in float64. It is NOT a cryptographic generator:
 * like Opacus without `secure_mode`, DP noise from it is fine for research and reproducibility, not
 * for adversarial deployments.
 */
export class Rng {
  private s: Uint32Array;
  private spare: number | null = null;

  /** @param seed any integer (reduced mod 2^32), or a 4-word saved state from {@link Rng.state}. */
  constructor(seed: number | ArrayLike<number> = 0) {
    this.s = new Uint32Array(4);
    if (typeof seed === 'number') {
      let x = seed >>> 0;
      for (let i = 0; i < 4; i++) {
        // splitmix32 step
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        this.s[i] = (z ^ (z >>> 16)) >>> 0;
      }
      if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    } else {
      if (seed.length !== 5 && seed.length !== 4) throw new RangeError(`rng state: expected 4 or 5 numbers, got ${seed.length}`);
      for (let i = 0; i < 4; i++) this.s[i] = seed[i]! >>> 0;
      // A fifth entry carries a cached Box–Muller spare so restores are exact.
      if (seed.length === 5 && typeof seed[4] === 'number' && Number.isFinite(seed[4])) this.spare = seed[4]!;
    }
  }

  /**
   * The generator's full state, JSON-safe; `new Rng(rng.state())` continues the identical stream.
   * Four words, plus a fifth (the cached Box–Muller normal) when one is pending.
   */
  state(): number[] {
    const words = [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
    return this.spare === null ? words : [...words, this.spare];
  }

  /** Next uniform uint32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform float64 in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal N(0, 1) (Box–Muller, both outputs used). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). Unbiased (rejection sampling). */
  int(n: number): number {
    if (!(n >= 1 && n <= 0x100000000 && Number.isInteger(n))) throw new RangeError(`n: expected an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * The seed each random draw inside the model gets (see GradPool.create's `randomness` and
 * docs/vectorized.md). It is a pure function of (pool seed, call, sample, ordinal) — never of the
 * thread, the chunk or the executor — so dropout masks are the same bits for any thread count and
 * chunk size, and in the loop and vectorized executors alike.
 *
 * Derivation: the block `Philox4x32-10(counter = [sample, ordinal, call, tag], key = seed as two
 * 32-bit words)` (the generator DP noise uses, src/privacy/gaussian.ts; the tag word keeps the two
 * streams apart) gives 53 bits u; the draw's seed is `(u + 1) / 2^53`, a double in (0, 1], passed to
 * the tfjs op as its `seed` argument. tfjs then draws exactly what it would have drawn had its
 * `Math.random()` returned that double: `seedrandom.alea(String(seed))`.
 */
import { philox4x32 } from '../../privacy/gaussian.js';

/** Counter word 3: which kind of draw (a per-sample one, or one shared by the whole call). */
const TAG_SAMPLE = 0x72616e64; // "rand"
const TAG_CALL = 0x63616c6c; // "call"

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * The seed of the `ordinal`-th random op (0-based, in the order the forward calls them) of call
 * `call` under pool seed `seed`, for sample `sample` (its index in the whole batch), or for every
 * sample of the call when `sample` is null (`randomness: 'same'`).
 */
export function drawSeed(seed: number, call: number, ordinal: number, sample: number | null): number {
  const ctr = [sample ?? 0, ordinal, call, sample === null ? TAG_CALL : TAG_SAMPLE];
  const w = philox4x32(ctr, [seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0]);
  return ((w[0]! >>> 5) * 67108864 + (w[1]! >>> 6) + 1) / TWO_POW_53;
}

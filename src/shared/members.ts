/**
 * An ensemble's members as the workers see them (`GradPool.create({ model, ensemble: K })`, src/ensemble/).
 * Every region of an ensemble holds K members' data, member-major, except the per-sample gradients,
 * which are param-major so each parameter's `[K, B, ...shape]` result is one contiguous block:
 *
 * | region | layout |
 * |---|---|
 * | `params0/1`, `grad`, optimizer slots | `[K, P]`: member k's block is its own pool's `[P]` vector |
 * | `pred` | `[K, B, out]` |
 * | `loss`, `norms` | `[K, B]` |
 * | `partial` | `[C, K, P]`: row c holds every member's chunk-c sum |
 * | `psg` | per parameter p, `[K, B, ...shape_p]` at offset `K·B·off_p` |
 *
 * `x` and `y` are shared: one copy, read by every member.
 */
import type { ChunkTask } from './protocol.js';

/** What a chunk task of an ensemble adds: K, and each member's seed (the pool seed + k) for its random draws. */
export interface MemberSpec {
  count: number;
  seeds: number[];
}

/** A chunk task, with members when it serves an ensemble. */
export type MemberChunkTask = ChunkTask & { members?: MemberSpec };

/**
 * A (sample, member) pair as one number that orders by sample first, then member: failures and
 * non-finite samples are merged by taking the lowest (src/dispatch.ts mergeClaimed), and a chunk runs
 * its members in order, so this is the first failure whatever the thread count.
 */
export const encodeSample = (sample: number, member: number, K: number): number => sample * K + member;
export const decodeSample = (code: number, K: number): { sample: number; member: number } => ({ sample: Math.floor(code / K), member: code % K });

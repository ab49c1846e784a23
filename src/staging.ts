/**
 * Staging a call's inputs while its workers wake. The coordinator posts a chunk task first and copies
 * `x` and `y` into shared memory after, chunk by chunk in chunk order, publishing in `CTL.STAGED` how
 * many chunks are in; a worker runs chunk c once `STAGED` > c (workers/claim.ts `waitStaged`). Copying
 * first, as before, kept the threads asleep for the whole copy: ~0.2 ms for the seed model at
 * B = 65536 (1.8 MB into shared memory), on top of their ~0.1 ms wake-up. The copies and the values
 * are the copy-first path's; only their timing changes.
 *
 * A source inside this pool's own shared memory (an earlier call's `copy: false` result fed back as an
 * input) is copied before posting, as before: this call's workers may write that region meanwhile.
 */
import type { Arena } from './arena.js';
import type { ChunkPlan } from './shared/chunks.js';
import { CTL } from './shared/ctl.js';
import type { RegionSpec } from './shared/protocol.js';

/** One input left to copy after posting: `src` into `dst`, `per` values a sample. */
export interface InputCopy {
  src: Float32Array;
  dst: Float32Array;
  per: number;
}

/** Publish at least this many values at a time, so thousands of tiny chunks do not each pay a notify. */
const PUBLISH_VALUES = 16384;

/**
 * Allocates each input's region (`length` values for `batch` samples) and returns the copies left to
 * do after posting: none for an input the caller wrote into our own buffer (`pool.inputBuffer`), and
 * none at all when a source lies in this pool's shared memory (copied here, at once).
 */
export function prepareInputs(arena: Arena, inputs: [RegionSpec<'f32'>, Float32Array, number][], batch: number): InputCopy[] {
  const copies: InputCopy[] = [];
  for (const [spec, src, length] of inputs) {
    if (arena.owns(spec, src)) continue;
    arena.ensure(spec, length);
    copies.push({ src: src.subarray(0, length), dst: arena.view(spec, length), per: length / batch });
  }
  if (!copies.some((c) => arena.holds(c.src.buffer))) return copies;
  for (const { src, dst } of copies) dst.set(src);
  return [];
}

/** Copies the inputs' samples chunk by chunk, in chunk order, publishing the chunks done in `CTL.STAGED`. */
export function stageChunks(ctl: Int32Array, plan: ChunkPlan, copies: InputCopy[]): void {
  const perSample = copies.reduce((a, c) => a + c.per, 0);
  let unpublished = 0;
  for (let c = 0; c < plan.count; c++) {
    const [s, e] = plan.range(c);
    for (const { src, dst, per } of copies) dst.set(src.subarray(s * per, e * per), s * per);
    unpublished += (e - s) * perSample;
    if (unpublished < PUBLISH_VALUES && c < plan.count - 1) continue;
    unpublished = 0;
    Atomics.store(ctl, CTL.STAGED, c + 1);
    Atomics.notify(ctl, CTL.STAGED);
  }
}

import type { PoolCore } from '../core.js';
import { errors } from '../errors.js';
import type { BatchInput, NDArray } from '../input.js';
import { checkSignal, type CallOptions } from '../lifecycle.js';
import { orderedSum } from '../shared/reduce.js';
import { checkOptionsObject } from '../validate.js';

/** Options of {@link GradPool.gradient}. */
export interface GradientOptions extends CallOptions {
  /**
   * What a sample with a non-finite loss or gradient does: `'throw'` (default; names the lowest such
   * sample) or `'propagate'`: the mean includes it, so the loss and the gradient elements it touches
   * come out NaN or ±Infinity, as a batched framework's mean would. `'propagate'` then runs the batch
   * once more for its per-sample gradients (B × P floats of shared memory), to add in what the
   * gradient sum leaves out. A non-finite sample is never zeroed silently.
   */
  nonFinite?: 'throw' | 'propagate';
}

/** What {@link meanGradient} returns (GradPool types it by the model's parameter names). */
export interface MeanGradientResult {
  loss: number;
  grads: Record<string, NDArray>;
  batch: number;
}

const KNOWN = ['nonFinite', 'signal'];

/** Implements {@link GradPool.gradient}: sumGrads on the workers, then the chunk-order mean. */
export function meanGradient(core: PoolCore, x: BatchInput, y: BatchInput, o: GradientOptions): Promise<MeanGradientResult> {
  const op = 'gradient';
  checkOptionsObject(o, KNOWN, "an options object such as { nonFinite: 'propagate' }");
  if (o.nonFinite !== undefined && o.nonFinite !== 'throw' && o.nonFinite !== 'propagate') throw errors.invalidOption('options.nonFinite', "'throw' or 'propagate'", o.nonFinite);
  const signal = checkSignal(o.signal);
  const [xs, ys] = core.readXY(op, x, y);
  const propagate = o.nonFinite === 'propagate';
  return core.serial(
    op,
    async () => {
      const B = xs.batch;
      const P = core.model.layout.total;
      if (B === 0) return { loss: NaN, grads: core.split(new Float32Array(P)), batch: 0 };
      const plan = core.plan(B);
      const nonFinite = propagate ? undefined : (s: number) => errors.nonFiniteGradient(op, s, "pass nonFinite: 'propagate' to get the non-finite mean instead");
      const r = await core.run('sumGrads', plan, { x: xs.data, y: ys.data, nonFinite, fold: true }, op);
      const loss = orderedSum(r.loss) / B;
      // The grad region is reused across calls; split() makes the caller's copies.
      if (r.badSample < 0) return { loss, grads: core.split(core.reduce(plan, 1 / B, r.folded)), batch: B };
      // 'propagate': the sum left the non-finite samples out, so take the mean of every sample's own
      // gradient instead, with the same random draws (the same call number) as the first pass.
      const { psg } = await core.run('perSampleGrads', plan, { x: xs.data, y: ys.data, randomCall: r.randomCall }, op);
      return { loss, grads: core.split(meanOfPerSample(psg, core.model.layout.sizes, B)), batch: B };
    },
    signal,
  );
}

/**
 * The batch mean of per-sample gradients laid out as the psg region is (block `p` is `[B, size_p]`),
 * flat in layout order; summed in sample order in float64, non-finite values included.
 */
export function meanOfPerSample(psg: Float32Array, sizes: readonly number[], B: number): Float32Array {
  const out = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  let block = 0;
  let off = 0;
  for (const size of sizes) {
    for (let k = 0; k < size; k++) {
      let s = 0;
      for (let i = 0; i < B; i++) s += psg[block + i * size + k]!;
      out[off + k] = s / B;
    }
    block += B * size;
    off += size;
  }
  return out;
}

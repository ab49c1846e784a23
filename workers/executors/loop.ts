import * as tf from '@tensorflow/tfjs';
import { fmtShape } from '../../src/errors.js';
import type { ModelDef } from '../../src/model/define.js';
import { SampleError, type ChunkJob, type Executor } from './types.js';

/** Names the params (layout order) for the model's `forward`, which takes them as an object. */
export function namedParams(model: ModelDef, params: readonly tf.Tensor[]): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  model.layout.names.forEach((n, i) => (out[n] = params[i]!));
  return out;
}

/** Runs `fn` for sample `i`, turning any throw into a SampleError that names the sample. */
function perSample<T>(job: ChunkJob, i: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SampleError) throw e;
    throw new SampleError(job.first + i, (e as Error)?.message ?? String(e));
  }
}

/**
 * The reference executor: one sample at a time, `forward` then `tf.valueAndGrads`, exactly the loop a
 * user would write by hand. Slow on small models (tfjs dispatch dominates), but it runs any model and
 * serves as the oracle the vectorised executor is tested against.
 */
export class LoopExecutor implements Executor {
  readonly name = 'loop';

  forward(job: ChunkJob, out: Float32Array): void {
    const { model, x, n } = job;
    const named = namedParams(model, job.params);
    const outSize = out.length / n;
    for (let i = 0; i < n; i++) {
      const values = perSample(job, i, () =>
        tf.tidy(() => {
          const xi = tf.tensor(x.slice(i * model.inputSize, (i + 1) * model.inputSize), model.inputShape as number[]);
          const pred = model.forward(named, xi);
          if (!(pred instanceof tf.Tensor)) throw new Error(`forward must return a tf.Tensor, got ${typeof pred}`);
          if (pred.size !== outSize) throw new Error(`forward returned shape ${fmtShape(pred.shape)} (${pred.size} values), expected ${outSize} values as for the first sample`);
          return pred.dataSync() as Float32Array;
        }),
      );
      out.set(values, i * outSize);
    }
  }

  lossAndGrads(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
    const { model, x, y, n } = job;
    const sizes = model.layout.sizes;
    for (let i = 0; i < n; i++) {
      perSample(job, i, () =>
        tf.tidy(() => {
          const xi = tf.tensor(x.slice(i * model.inputSize, (i + 1) * model.inputSize), model.inputShape as number[]);
          const yi = tf.tensor(y!.slice(i * model.targetSize, (i + 1) * model.targetSize), model.targetShape as number[]);
          const f = (...ps: tf.Tensor[]) => {
            const l = model.loss(model.forward(namedParams(model, ps), xi), yi);
            if (!(l instanceof tf.Tensor) || l.rank !== 0) throw new Error(`loss must return a scalar tensor, got ${l instanceof tf.Tensor ? `shape ${fmtShape(l.shape)}` : typeof l}`);
            return l as tf.Scalar;
          };
          const { value, grads: gs } = tf.valueAndGrads(f)(job.params);
          losses[i] = value.dataSync()[0]!;
          gs.forEach((g, p) => grads[p]!.set(g.dataSync(), i * sizes[p]!));
        }),
      );
    }
  }
}

import * as tf from '@tensorflow/tfjs';
import { fmtShape } from '../../src/errors.js';
import { checkedLoss, lossOf, namedParams } from './loss.js';
import { SampleError, type ChunkJob, type Executor } from './types.js';
import { forSample } from '../../src/shared/random/scope.js';

/**
 * Runs `fn` for sample `i`, turning any throw into a SampleError that names the sample. Its random ops
 * draw as sample `job.first + i` (src/shared/random/scope.ts).
 */
function perSample<T>(job: ChunkJob, i: number, fn: () => T): T {
  try {
    return forSample(job.first + i, fn);
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
    this.eachForward(job, out, (_i, pred) => pred.dataSync() as Float32Array);
  }

  losses(job: ChunkJob, losses: Float32Array, pred: Float32Array): void {
    const { model, y } = job;
    this.eachForward(job, pred, (i, p) => {
      const yi = tf.tensor(y!.slice(i * model.targetSize, (i + 1) * model.targetSize), model.targetShape as number[]);
      losses[i] = checkedLoss(model, p, yi).dataSync()[0]!;
      return p.dataSync() as Float32Array;
    });
  }

  /** Runs `forward` on each sample in turn and writes what `take` returns from its output into `out`. */
  private eachForward(job: ChunkJob, out: Float32Array, take: (i: number, pred: tf.Tensor) => Float32Array): void {
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
          return take(i, pred);
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
          const { value, grads: gs } = tf.valueAndGrads((...ps: tf.Tensor[]) => lossOf(model, ps, xi, yi))(job.params);
          losses[i] = value.dataSync()[0]!;
          gs.forEach((g, p) => grads[p]!.set(g.dataSync(), i * sizes[p]!));
        }),
      );
    }
  }
}

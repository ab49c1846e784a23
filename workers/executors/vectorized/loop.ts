/**
 * The sample-by-sample path on the inner backend: what the vectorized executor falls back to for a chunk
 * it cannot vectorize, and the way it pins a failure on the sample that caused it.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../../src/model/define.js';
import { SampleError, type ChunkJob } from '../types.js';
import { disposeAbandonedTape } from './backend.js';

/** The parameter list as the model's named object. */
export function namedParams(model: ModelDef, params: tf.Tensor[]): Record<string, tf.Tensor> {
  return Object.fromEntries(model.layout.names.map((name, i) => [name, params[i]!]));
}

/** The model's loss, checked to be one value per sample. */
export function lossOf(model: ModelDef, params: tf.Tensor[], x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const loss = model.loss(model.forward(namedParams(model, params), x), y);
  if (!(loss instanceof tf.Tensor) || loss.size !== 1)
    throw new Error(`model.loss: expected to return a scalar tensor, got ${loss instanceof tf.Tensor ? `shape [${loss.shape}]` : typeof loss}`);
  return loss;
}

function perSample(job: ChunkJob, body: (i: number) => void): void {
  for (let i = 0; i < job.n; i++) {
    try {
      body(i);
    } catch (e) {
      disposeAbandonedTape();
      throw new SampleError(job.first + i, e instanceof Error ? e.message : String(e));
    }
  }
}

/** Forward pass, one sample at a time. */
export function loopForward(job: ChunkJob, out: Float32Array): void {
  const { model, n } = job;
  const inSize = model.inputSize;
  const outSize = out.length / n;
  perSample(job, (i) =>
    tf.tidy(() => {
      const x = tf.tensor(job.x.subarray(i * inSize, (i + 1) * inSize), model.inputShape as number[]);
      const pred = model.forward(namedParams(model, job.params), x);
      if (pred.size !== outSize) throw new Error(`model.forward: expected ${outSize} values per sample, got shape [${pred.shape}]`);
      out.set(pred.dataSync(), i * outSize);
    }),
  );
}

/** Loss and gradients, one sample at a time. */
export function loopLossAndGrads(job: ChunkJob, losses: Float32Array, grads: Float32Array[]): void {
  const { model } = job;
  const { inputSize: inSize, targetSize: tSize } = model;
  const sizes = model.layout.sizes;
  perSample(job, (i) =>
    tf.tidy(() => {
      const x = tf.tensor(job.x.subarray(i * inSize, (i + 1) * inSize), model.inputShape as number[]);
      const y = tf.tensor(job.y!.subarray(i * tSize, (i + 1) * tSize), model.targetShape as number[]);
      const { value, grads: g } = tf.engine().gradients(() => lossOf(model, job.params, x, y), job.params, undefined, true);
      losses[i] = value.dataSync()[0]!;
      g.forEach((gp, p) => {
        const dst = grads[p]!.subarray(i * sizes[p]!, (i + 1) * sizes[p]!);
        if (gp) dst.set(gp.dataSync());
        else dst.fill(0);
      });
    }),
  );
}

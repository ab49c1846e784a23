import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../src/model/define.js';
import type { NDArray } from '../../src/input.js';

/**
 * The independent oracle: a plain sequential loop on the main thread, one `forward` and one
 * `tf.valueAndGrads` per sample — what a user would write without gradpool.
 */
export function loopOracle(model: ModelDef, params: Record<string, NDArray>, x: Float32Array, y: Float32Array | null, B: number) {
  const names = model.layout.names;
  const ps = names.map((n) => tf.tensor(params[n]!.data, params[n]!.shape));
  const preds: number[] = [];
  const losses: number[] = [];
  const grads = names.map(() => [] as number[]);
  for (let i = 0; i < B; i++) {
    tf.tidy(() => {
      const xi = tf.tensor(x.slice(i * model.inputSize, (i + 1) * model.inputSize), model.inputShape as number[]);
      const named = Object.fromEntries(names.map((n, k) => [n, ps[k]!]));
      preds.push(...model.forward(named, xi).dataSync());
      if (!y) return;
      const yi = tf.tensor(y.slice(i * model.targetSize, (i + 1) * model.targetSize), model.targetShape as number[]);
      const { value, grads: gs } = tf.valueAndGrads((...a: tf.Tensor[]) => model.loss(model.forward(Object.fromEntries(names.map((n, k) => [n, a[k]!])), xi), yi) as tf.Scalar)(ps);
      losses.push(value.dataSync()[0]!);
      gs.forEach((g, k) => grads[k]!.push(...g.dataSync()));
    });
  }
  ps.forEach((t) => t.dispose());
  // Mean over the batch, summed in float64 in sample order.
  const mean = names.map((_, k) => {
    const sz = model.layout.sizes[k]!;
    const m = new Float64Array(sz);
    for (let i = 0; i < B; i++) for (let j = 0; j < sz; j++) m[j] += grads[k]![i * sz + j]!;
    return Array.from(m, (v) => v / B);
  });
  return { preds, losses, grads, mean, meanLoss: losses.reduce((a, b) => a + b, 0) / B };
}

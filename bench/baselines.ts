/**
 * The main-thread baselines, on the same tfjs backend as the pool's workers:
 * - the sequential per-sample loop a user writes without gradpool (the JS form of
 *   `torch.stack([model(x) for x in batch])`), for every op;
 * - natively batched tfjs, where the model can be written for a batch (predict, and a training step
 *   from the batched mean loss) — tfjs has no vmap, so per-sample gradients have no batched form;
 * - `model.fit` of a `tf.sequential` twin for one training step.
 * Each returns freshly allocated results, as the pool does, so both sides pay for their outputs.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../src/model/define.js';
import type { Workload } from './workloads.js';

/** A single-sample model's parameters as tensors, from a flat layout-order array. */
function paramTensors(def: ModelDef, flat: Float32Array): tf.Tensor[] {
  const { shapes, offsets, sizes } = def.layout;
  return shapes.map((s, k) => tf.tensor(flat.slice(offsets[k]!, offsets[k]! + sizes[k]!), s));
}

const named = (def: ModelDef, ts: readonly tf.Tensor[]) => Object.fromEntries(def.layout.names.map((n, k) => [n, ts[k]!]));

/** The sequential per-sample loop on the main thread. */
export class LoopBaseline {
  private params: tf.Tensor[];

  constructor(
    private readonly def: ModelDef,
    init: Float32Array,
  ) {
    this.params = paramTensors(def, init);
  }

  private sample(x: Float32Array, i: number): tf.Tensor {
    const n = this.def.inputSize;
    return tf.tensor(x.subarray(i * n, (i + 1) * n), this.def.inputShape as number[]);
  }

  private target(y: Float32Array, i: number): tf.Tensor {
    const n = this.def.targetSize;
    return tf.tensor(y.subarray(i * n, (i + 1) * n), this.def.targetShape as number[]);
  }

  /** One forward pass per sample; outputs stacked into `[B, ...outputShape]`. */
  predict(x: Float32Array, B: number): Float32Array {
    const p = named(this.def, this.params);
    let out: Float32Array | null = null;
    for (let i = 0; i < B; i++) {
      const v = tf.tidy(() => this.def.forward(p, this.sample(x, i)).dataSync() as Float32Array);
      out ??= new Float32Array(B * v.length);
      out.set(v, i * v.length);
    }
    return out ?? new Float32Array(0);
  }

  /**
   * One `tf.valueAndGrads` per sample. `visit(i, loss, grads)` consumes each sample's results; the
   * default stores them like `pool.perSampleGrads` does (losses [B], per parameter [B, ...shape]).
   */
  perSampleGrads(x: Float32Array, y: Float32Array, B: number, visit?: (i: number, loss: number, grads: Float32Array[]) => void) {
    const { names, sizes } = this.def.layout;
    const losses = new Float32Array(B);
    const grads = visit ? [] : sizes.map((s) => new Float32Array(B * s));
    let cur = 0; // the sample the differentiated closure reads
    const vg = tf.valueAndGrads((...ps: tf.Tensor[]) => {
      const xi = this.sample(x, cur);
      return this.def.loss(this.def.forward(Object.fromEntries(names.map((n, k) => [n, ps[k]!])), xi), this.target(y, cur)) as tf.Scalar;
    });
    for (; cur < B; cur++) {
      tf.tidy(() => {
        const { value, grads: gs } = vg(this.params);
        const loss = value.dataSync()[0]!;
        const arrays = gs.map((g) => g.dataSync() as Float32Array);
        if (visit) visit(cur, loss, arrays);
        else {
          losses[cur] = loss;
          arrays.forEach((a, k) => grads[k]!.set(a, cur * sizes[k]!));
        }
      });
    }
    return { losses, grads };
  }

  /**
   * A training step the sequential way: per-sample gradients summed in float64 in sample order (the
   * pool's reduction, without threads), then `p -= lr * mean` and the parameters re-uploaded.
   */
  step(x: Float32Array, y: Float32Array, B: number, lr: number): number {
    const sums = this.def.layout.sizes.map((s) => new Float64Array(s));
    let lossSum = 0;
    this.perSampleGrads(x, y, B, (_i, loss, gs) => {
      lossSum += loss;
      gs.forEach((g, k) => {
        const acc = sums[k]!;
        for (let j = 0; j < g.length; j++) acc[j] += g[j]!;
      });
    });
    const next = this.params.map((t, k) => {
      const v = t.dataSync() as Float32Array;
      const acc = sums[k]!;
      return tf.tensor(v.map((p, j) => p - (lr * acc[j]!) / B), t.shape);
    });
    this.params.forEach((t) => t.dispose());
    this.params = next;
    return lossSum / B;
  }

  dispose(): void {
    this.params.forEach((t) => t.dispose());
  }
}

/** The model written for a whole batch, on the main thread: batched forward, batched mean-loss step. */
export class BatchedBaseline {
  private readonly vars: tf.Variable[];
  private readonly optimizer: tf.SGDOptimizer;

  constructor(
    private readonly def: ModelDef,
    private readonly w: Workload,
    init: Float32Array,
    lr: number,
  ) {
    this.vars = paramTensors(def, init).map((t) => {
      const v = tf.variable(t); // a new tensor, not a take-over of t
      t.dispose();
      return v;
    });
    this.optimizer = tf.train.sgd(lr);
  }

  private batch(a: Float32Array, B: number, shape: readonly number[]) {
    return tf.tensor(a.subarray(0, B * shape.reduce((p, q) => p * q, 1)), [B, ...shape]);
  }

  predict(x: Float32Array, B: number): Float32Array {
    return tf.tidy(() => this.w.batchedForward(named(this.def, this.vars), this.batch(x, B, this.def.inputShape)).dataSync() as Float32Array);
  }

  /** Gradient of the batch-mean loss and one SGD update (`optimizer.minimize`). */
  step(x: Float32Array, y: Float32Array, B: number): number {
    return tf.tidy(() => {
      const xs = this.batch(x, B, this.def.inputShape);
      const ys = this.batch(y, B, this.def.targetShape);
      const cost = this.optimizer.minimize(() => this.w.batchedLoss(this.w.batchedForward(named(this.def, this.vars), xs), ys), true);
      return cost!.dataSync()[0]!;
    });
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
    this.optimizer.dispose();
  }
}

/** A `tf.sequential` twin trained with `model.fit` for one epoch of exactly one batch: one step. */
export class FitBaseline {
  private readonly model: tf.Sequential;
  /** Passed to compile as an instance, so the model does not own (or dispose) it. */
  private readonly optimizer: tf.SGDOptimizer;

  constructor(
    private readonly def: ModelDef,
    w: Workload,
    init: Float32Array,
    lr: number,
  ) {
    const { model, loss } = w.layers();
    this.optimizer = tf.train.sgd(lr);
    model.compile({ optimizer: this.optimizer, loss });
    // Same starting weights as the pool; setWeights also proves the architectures match shape for shape.
    const ps = paramTensors(def, init);
    const weights = w.toLayerWeights(named(def, ps));
    model.setWeights(weights); // copies the values into the layers' variables
    new Set([...ps, ...weights]).forEach((t) => t.dispose());
    this.model = model;
  }

  async step(x: Float32Array, y: Float32Array, B: number): Promise<number> {
    const { inputShape, targetShape, inputSize, targetSize } = this.def;
    const xs = tf.tensor(x.subarray(0, B * inputSize), [B, ...inputShape]);
    const ys = tf.tensor(y.subarray(0, B * targetSize), [B, ...targetShape]);
    try {
      const h = await this.model.fit(xs, ys, { batchSize: B, epochs: 1, shuffle: false, verbose: 0 });
      return h.history.loss![0] as number;
    } finally {
      xs.dispose();
      ys.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
    this.optimizer.dispose();
  }
}

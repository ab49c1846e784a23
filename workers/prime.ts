/**
 * Priming at pool creation: each worker runs its executor over a small chunk a few times, so that the
 * first calls of a new pool don't pay for V8's tier-up of the executor's JavaScript and of tfjs-wasm's
 * kernels. Measured on the MNIST MLP (2 threads, B=512 steps): the first 10 calls cost 2.0× ten
 * steady ones without priming and 1.4× after 40 small calls. What remains is the first touch of the
 * real batch's buffers, which needs the batch size. Bounded in time: it only moves cost to creation,
 * and it changes no result (the parameters are throwaway, nothing is written to shared memory).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../src/model/define.js';
import { withTraining } from '../src/model/mode.js';
import type { RuntimeSpec } from '../src/shared/protocol.js';
import { sumGradsByLoop } from './executors/sum.js';
import type { ChunkJob, Executor } from './executors/types.js';
import { withRandomness } from '../src/shared/random/scope.js';

/** Samples in the priming chunk, rounds at most, and the time budget per worker. */
const PRIME = { samples: 8, rounds: 40, budgetMs: 150 } as const;

/**
 * Runs forward, per-sample gradients and the gradient sum over a chunk of 0.5s (the inputs the
 * creation probe already ran) until the round or time budget is spent; `gradients: false` for a model
 * tfjs cannot differentiate. Returns the rounds done.
 */
export function primeExecutor(model: ModelDef, executor: Executor, runtime: RuntimeSpec, gradients: boolean, outputSize: number): number {
  const n = PRIME.samples;
  const params = model.layout.shapes.map((s) => tf.randomNormal(s, 0, 0.1, 'float32', 1));
  const job: ChunkJob = { model, params, x: new Float32Array(n * model.inputSize).fill(0.5), y: new Float32Array(n * model.targetSize).fill(0.5), n, first: 0 };
  const out = new Float32Array(n * outputSize);
  const losses = new Float32Array(n);
  const norms = new Float32Array(n);
  const row = new Float64Array(model.layout.total);
  const grads = model.layout.sizes.map((s) => new Float32Array(n * s));
  const t0 = performance.now();
  let rounds = 0;
  try {
    withRandomness({ mode: runtime.randomness, seed: runtime.seed, call: 0 }, () => {
      for (; rounds < PRIME.rounds && performance.now() - t0 < PRIME.budgetMs; rounds++) {
        withTraining(false, () => executor.forward(job, out));
        if (!gradients) continue;
        withTraining(true, () => {
          executor.lossAndGrads(job, losses, grads);
          if (executor.sumGrads) executor.sumGrads(job, losses, norms, row);
          else sumGradsByLoop(job, executor, losses, norms, row);
        });
      }
    });
  } finally {
    params.forEach((t) => t.dispose());
  }
  return rounds;
}

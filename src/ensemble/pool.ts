import type { BatchInput } from '../input.js';
import type { CallOptions, CloseOptions } from '../lifecycle.js';
import type { ParamValue } from '../params.js';
import type { OutputOptions } from '../results.js';
import type { FitData, FitOptions, History } from '../train/fit.js';
import type { Metric } from '../train/metrics.js';
import type { StepOptions } from '../train/step.js';
import type { EnsembleCore } from './core.js';
import { PoolBase } from '../pool-base.js';
import { evaluateCall, perSampleGradsCall, predictCall } from '../batch-calls.js';
import { ensembleFit } from './fit.js';
import { stackParams, unstackWrites } from './params.js';
import type { EnsembleEvaluation, EnsemblePerSampleGrads, EnsembleStepResult, StackedArray } from './results.js';
import { ensembleStep } from './step.js';


/**
 * K independent copies of one model's parameters on one pool of workers, what
 * `torch.func.stack_module_state` + `vmap` give PyTorch: every call runs all K members on the same
 * batch and returns results with a leading `[K]` axis. Member k is initialised as a single
 * {@link GradPool} with `seed: seed + k` would be, and after any sequence of calls its parameters,
 * optimizer state and results equal that pool's, bit for bit. The batch is copied into shared memory
 * once and each worker runs every member on the chunks it claims, so a call pays dispatch once, not K
 * times. Made by `GradPool.create({ model, ensemble: K })`.
 *
 * @example
 * ```ts
 * import { GradPool, adam } from 'gradpool';
 * const ens = await GradPool.create({ model: new URL('./model.js', import.meta.url), ensemble: 4, seed: 0, threads: 2 });
 * const pred = await ens.predict(x);                        // [4, B, ...outputShape]
 * const { losses, grads } = await ens.perSampleGrads(x, y); // losses [4, B]; grads.W [4, B, ...W.shape]
 * const opt = adam({ learningRate: 1e-3 });
 * const { loss } = await ens.step(x, y, { optimizer: opt }); // loss: 4 numbers, one per member
 * ens.getParams().W;                                         // [4, ...W.shape]
 * await ens.close();
 * ```
 */
export class EnsemblePool<N extends string = string> extends PoolBase<EnsembleCore> {
  /** @internal Made by `GradPool.create({ ensemble })`. */
  constructor(core: EnsembleCore) {
    super(core);
  }

  /** K, the number of members. */
  get members(): number {
    return this.core.members;
  }
  /** A copy of every member's parameters, by name, each `[K, ...shape]`. */
  getParams(): Record<N, StackedArray> {
    return stackParams(this.core.model.layout, this.core.params.flat(), this.members) as Record<N, StackedArray>;
  }

  /** Replaces some or all parameters of every member, each given as `[K, ...shape]`; validated in full first, applied at the next call. */
  setParams(values: Partial<Record<N, ParamValue>>): void {
    this.core.assertOpen('setParams');
    this.core.params.stage(unstackWrites(this.core.model.layout, values as Record<string, ParamValue>, this.members));
  }

  /** Every member's forward pass: `[B, ...inputShape]` → `[K, B, ...outputShape]`. */
  predict(x: BatchInput, options: OutputOptions = {}): Promise<StackedArray> {
    return predictCall(this.core, this.members, x, options);
  }

  /** Every member's mean loss (and accuracy) over the batch, without gradients. */
  evaluate(x: BatchInput, y: BatchInput, options: { metrics?: Metric[] } & CallOptions = {}): Promise<EnsembleEvaluation> {
    return evaluateCall(this.core, this.members, x, y, options);
  }

  /** Every member's per-sample losses `[K, B]` and gradients `[K, B, ...paramShape]` (`vmap` over members of `vmap(grad)`). */
  perSampleGrads(x: BatchInput, y: BatchInput, options: OutputOptions = {}): Promise<EnsemblePerSampleGrads<N>> {
    return perSampleGradsCall<N>(this.core, this.members, x, y, options);
  }

  /**
   * One training step of every member on the same batch, each with its own optimizer state (and, with
   * `dp`, its own noise). Committed for all members together, or for none: a non-finite loss or
   * update in any member fails (or with `nonFinite: 'skip-step'` skips) the step of all of them.
   */
  step(x: BatchInput, y: BatchInput, options: StepOptions): Promise<EnsembleStepResult> {
    return ensembleStep(this.core, x, y, options);
  }

  /**
   * `fit` for every member at once, on the same batches (shuffled by the pool's seed): member k
   * trains as a single pool seeded `seed + k` would on those batches, which with `shuffle: false` (or
   * iterable data) are that pool's own. The history's losses are the mean over members; `onStep`'s
   * logs carry each member's figures under `members`. See {@link FitOptions}.
   */
  async fit(data: FitData, options: FitOptions): Promise<History> {
    this.core.assertOpen('fit');
    return ensembleFit(this, data, options);
  }

  /** Stops the pool (see GradPool.close). */
  close(options: CloseOptions = {}): Promise<void> {
    return this.core.close(options);
  }
}

import type { BatchInput } from '../input.js';
import { fit, type FitData, type FitOptions, type History, type Trainer } from '../train/fit.js';
import type { Metric } from '../train/metrics.js';
import type { StepOptions, StepResult } from '../train/step.js';
import type { EnsembleEvaluation, EnsembleStepResult } from './results.js';

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** A step's figures for `fit`'s bookkeeping (the members' mean), with every member's under `members`. */
export interface EnsembleStepSummary extends StepResult {
  members: EnsembleStepResult;
}

/** What fit needs of an ensemble ({@link EnsemblePool} is one). */
export interface EnsembleTrainer extends Omit<Trainer, 'step' | 'evaluate'> {
  randomCalls: number;
  step(x: BatchInput, y: BatchInput, options: StepOptions): Promise<EnsembleStepResult>;
  evaluate(x: BatchInput, y: BatchInput, options: { metrics?: Metric[]; signal?: AbortSignal }): Promise<EnsembleEvaluation>;
}

/**
 * Implements {@link EnsemblePool.fit}: the single-pool `fit` over a {@link Trainer} whose step is the
 * ensemble's. Sampling, the saved state (`initialState`) and the call counter are the pool's, shared
 * by every member, so a checkpoint is `state()` with `getParams()` and `getOptimizerState()`.
 */
export function ensembleFit(pool: EnsembleTrainer, data: FitData, options: FitOptions): Promise<History> {
  const trainer: Trainer = {
    model: pool.model,
    seed: pool.seed,
    async step(x: BatchInput, y: BatchInput, o: StepOptions): Promise<EnsembleStepSummary> {
      const r = await pool.step(x, y, o);
      const { clippedFraction, ...rest } = r;
      return { ...rest, loss: mean(r.loss), gradNorm: mean(r.gradNorm), ...(clippedFraction ? { clippedFraction: mean(clippedFraction) } : {}), members: r };
    },
    async evaluate(x: BatchInput, y: BatchInput, o: { metrics?: Metric[]; signal?: AbortSignal }) {
      const r = await pool.evaluate(x, y, o);
      return { loss: mean(r.loss), ...(r.accuracy ? { accuracy: mean(r.accuracy) } : {}) };
    },
    inputBuffer: (n) => pool.inputBuffer(n),
    targetBuffer: (n) => pool.targetBuffer(n),
    get randomCalls() {
      return pool.randomCalls;
    },
    set randomCalls(n: number) {
      pool.randomCalls = n;
    },
  };
  return fit(trainer, data, options);
}

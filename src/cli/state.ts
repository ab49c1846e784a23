import { GradPoolError } from '../errors.js';
import type { Checkpoint, CheckpointPayload } from '../io/checkpoint.js';
import type { OptimizerSpec } from '../optim/types.js';
import { joinFlat, splitFlat } from '../model/define.js';
import type { GradPool } from '../pool.js';
import type { FitState } from '../train/fit.js';

/** What a training checkpoint's header holds besides the arrays. */
export interface TrainMeta {
  format: 'gradpool-train';
  version: 1;
  jobHash: string;
  globalStep: number;
  epoch: number;
  optimizerStep: number;
  fit: FitState;
}

/**
 * Everything needed to continue bit-exactly: the parameters, the optimizer's moments and update
 * count, and the fit loop's position and sampler state (DP noise is counter-based: no state).
 */
export function capture(pool: GradPool, optimizer: OptimizerSpec, fit: FitState, jobHash: string): CheckpointPayload {
  const p = pool.getParams();
  const flat = joinFlat(pool.model.layout, Object.fromEntries(Object.entries(p).map(([n, v]) => [n, v.data])));
  const opt = pool.getOptimizerState(optimizer);
  const meta: TrainMeta = { format: 'gradpool-train', version: 1, jobHash, globalStep: fit.globalStep, epoch: fit.epoch, optimizerStep: opt.step, fit };
  const arrays: Record<string, Float32Array> = { params: flat };
  for (const [slot, v] of Object.entries(opt.slots)) arrays[`opt.${slot}`] = v;
  return { meta: meta as unknown as CheckpointPayload['meta'], arrays };
}

/** Puts a checkpoint back into the pool and returns the fit state to continue from. */
export function restore(pool: GradPool, optimizer: OptimizerSpec, ckpt: Checkpoint): FitState {
  const meta = ckpt.meta as unknown as TrainMeta;
  if (meta?.format !== 'gradpool-train') throw new GradPoolError('ERR_CHECKPOINT_CORRUPT', `checkpoint: not a gradpool training checkpoint`);
  const flat = ckpt.arrays.params;
  const { total } = pool.model.layout;
  if (!(flat instanceof Float32Array) || flat.length !== total) throw new GradPoolError('ERR_CHECKPOINT_CORRUPT', `checkpoint: params: expected ${total} float32 values, got ${flat?.length}`);
  pool.setParams(splitFlat(pool.model.layout, flat));
  const slots: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(ckpt.arrays)) if (k.startsWith('opt.')) slots[k.slice(4)] = v as Float32Array;
  pool.setOptimizerState(optimizer, { step: meta.optimizerStep, slots });
  return meta.fit;
}

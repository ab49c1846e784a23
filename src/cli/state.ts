/**
 * What a training checkpoint holds and how it goes back into a pool.
 *
 * Version 2 (written now) stores each parameter as its own named array, `param.<name>`, exactly as
 * `getParams` returns it and `setParams` takes it, so nothing is flattened on save or split on load.
 * Version 1 (written before) stored one flat `params` vector in the model's layout order; it is still
 * read, by splitting it with that layout, so runs checkpointed by an older gradpool resume (and
 * predict) as before. Optimizer slots are `opt.<slot>` in both versions.
 */
import { errors } from '../errors.js';
import type { Checkpoint, CheckpointPayload } from '../io/checkpoint.js';
import type { FitState, GradPool, OptimizerSpec, ParamLayout } from '../index.js';
import { splitFlat } from '../model/define.js';
import type { FileDigest } from './identity.js';

/** What a training checkpoint's header holds besides the arrays. */
export interface TrainMeta {
  format: 'gradpool-train';
  /** 2: parameters as `param.<name>` arrays; 1: one flat `params` array (read, no longer written). */
  version: 1 | 2;
  jobHash: string;
  /** Digests of the model and training data files (absent in checkpoints written before they were recorded). */
  files?: FileDigest[];
  globalStep: number;
  epoch: number;
  optimizerStep: number;
  fit: FitState;
}

const VERSION = 2;
const PARAM = 'param.';
const OPT = 'opt.';

/**
 * Everything needed to continue bit-exactly: the parameters, the optimizer's moments and update
 * count, and the fit loop's position and sampler state (DP noise is counter-based: no state).
 */
export function capture(pool: GradPool, optimizer: OptimizerSpec, fit: FitState, jobHash: string, files: readonly FileDigest[] = []): CheckpointPayload {
  const opt = pool.getOptimizerState(optimizer);
  const meta: TrainMeta = { format: 'gradpool-train', version: VERSION, jobHash, files: [...files], globalStep: fit.globalStep, epoch: fit.epoch, optimizerStep: opt.step, fit };
  const arrays: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(pool.getParams())) arrays[PARAM + name] = p.data;
  for (const [slot, v] of Object.entries(opt.slots)) arrays[OPT + slot] = v;
  return { meta: meta as unknown as CheckpointPayload['meta'], arrays };
}

/** The checkpoint's header as a training checkpoint's, or `ERR_CHECKPOINT_CORRUPT` naming the file. */
export function trainMeta(ckpt: Checkpoint): TrainMeta {
  const meta = ckpt.meta as Partial<TrainMeta> | null;
  if (meta?.format !== 'gradpool-train') throw errors.checkpointCorrupt(ckpt.file, 'not a gradpool training checkpoint');
  if (meta.version !== 1 && meta.version !== VERSION) throw errors.checkpointCorrupt(ckpt.file, `unsupported training checkpoint version ${meta.version} (expected 1 or ${VERSION})`);
  return meta as TrainMeta;
}

/** A training checkpoint's parameters by name, checked against `layout` (either version). */
export function checkpointParams(ckpt: Checkpoint, layout: ParamLayout): Record<string, Float32Array> {
  const f32 = (name: string, length: number): Float32Array => {
    const a = ckpt.arrays[name];
    if (!(a instanceof Float32Array) || a.length !== length) throw errors.checkpointCorrupt(ckpt.file, `${name}: expected ${length} float32 values, got ${a?.length}`);
    return a;
  };
  if (trainMeta(ckpt).version === 1) return splitFlat(layout, f32('params', layout.total));
  return Object.fromEntries(layout.names.map((n, i) => [n, f32(PARAM + n, layout.sizes[i]!)]));
}

/** Puts a checkpoint back into the pool and returns the fit state to continue from. */
export function restore(pool: GradPool, optimizer: OptimizerSpec, ckpt: Checkpoint): FitState {
  const meta = trainMeta(ckpt);
  pool.setParams(checkpointParams(ckpt, pool.model.layout));
  const slots: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(ckpt.arrays)) if (k.startsWith(OPT)) slots[k.slice(OPT.length)] = v as Float32Array;
  pool.setOptimizerState(optimizer, { step: meta.optimizerStep, slots });
  return meta.fit;
}

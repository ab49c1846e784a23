/** "Nothing lost": a pool's parameters and one optimizer's state, captured and compared bit for bit. */
import assert from 'node:assert/strict';
import type { GradPool } from '../../src/index.js';
import type { OptimizerSpec } from '../../src/optim/types.js';
import { sameBytes } from './assert.js';

export interface PoolState {
  params: Record<string, Float32Array>;
  step: number;
  slots: Record<string, Float32Array>;
}

/** Copies of the parameters and of `optimizer`'s state on `pool`. */
export function poolState(pool: GradPool, optimizer: OptimizerSpec): PoolState {
  const params = Object.fromEntries(Object.entries(pool.getParams()).map(([k, v]) => [k, v.data.slice()]));
  const { step, slots } = pool.getOptimizerState(optimizer);
  return { params, step, slots };
}

/** Asserts two captures are bit-identical (parameters, update count, every optimizer slot). */
export function assertSameState(after: PoolState, before: PoolState): void {
  assert.deepEqual(Object.keys(after.params), Object.keys(before.params));
  for (const k of Object.keys(before.params)) assert.ok(sameBytes(after.params[k]!, before.params[k]!), `parameter ${k} changed`);
  assert.equal(after.step, before.step, 'the optimizer update count changed');
  assert.deepEqual(Object.keys(after.slots), Object.keys(before.slots));
  for (const k of Object.keys(before.slots)) assert.ok(sameBytes(after.slots[k]!, before.slots[k]!), `optimizer slot ${k} changed`);
}

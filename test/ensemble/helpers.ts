/** An ensemble and its oracle: K single pools seeded seed + k, driven by the same calls. */
import assert from 'node:assert/strict';
import { GradPool, type EnsemblePool, type NDArray } from '../../src/index.js';
import type { EnsembleOptions, GradPoolOptions } from '../../src/options.js';
import { sameBytes } from '../helpers/assert.js';

export interface Twin {
  ens: EnsemblePool;
  singles: GradPool[];
  close(): Promise<void>;
}

/** Creates `ensemble` of K members and K single pools with `seed + k` (everything else the same). */
export async function twins(o: EnsembleOptions): Promise<Twin> {
  const seed = o.seed ?? 0;
  const { ensemble: K, ...single } = o;
  const ens = await GradPool.create(o);
  const singles: GradPool[] = [];
  for (let k = 0; k < K; k++) singles.push(await GradPool.create({ ...(single as GradPoolOptions), seed: seed + k }));
  return { ens, singles, close: async () => void (await Promise.all([ens.close(), ...singles.map((p) => p.close())])) };
}

/** Member k's `[...]` slice of a `[K, ...]` array. */
export function member(a: NDArray, k: number): NDArray {
  const K = a.shape[0]!;
  const n = a.data.length / K;
  return { shape: a.shape.slice(1), data: a.data.subarray(k * n, (k + 1) * n) };
}

/** Asserts member k of the stacked `a` has the bytes and shape of `b`. */
export function assertMember(a: NDArray, k: number, b: NDArray, what: string): void {
  const m = member(a, k);
  assert.deepEqual(m.shape, b.shape, `${what}: member ${k} shape`);
  assert.ok(sameBytes(m.data, b.data), `${what}: member ${k} differs from its single pool`);
}

/** Asserts every member's parameters are its single pool's, bit for bit. */
export function assertParams(t: Twin, what: string): void {
  const stacked = t.ens.getParams();
  t.singles.forEach((p, k) => {
    for (const [name, v] of Object.entries(p.getParams())) assertMember(stacked[name]!, k, v, `${what}: params.${name}`);
  });
}

/** The stacked parameters of an ensemble (`[K, ...shape]` per name, as `torch.func.stack_module_state`), to and from the pool's member-major memory. */
import { errors, raw } from '../errors.js';
import { readExact, type NDArray } from '../input.js';
import { initParams, type ModelDef, type ParamLayout } from '../model/define.js';
import type { ParamValue } from '../params.js';

/** Member k's parameters exactly as a single pool with `seed + k` initialises them, one block of P after another. */
export function stackedInit(model: ModelDef, seed: number, K: number): Float32Array {
  const P = model.layout.total;
  const out = new Float32Array(K * P);
  for (let k = 0; k < K; k++) out.set(initParams(model, seed + k), k * P);
  return out;
}

/** The member-major vector `flat` ([K, P]) as fresh `[K, ...shape]` arrays by name. */
export function stackParams(layout: ParamLayout, flat: Float32Array, K: number): Record<string, NDArray> {
  const P = layout.total;
  return Object.fromEntries(
    layout.names.map((name, p) => {
      const size = layout.sizes[p]!;
      const data = new Float32Array(K * size);
      for (let k = 0; k < K; k++) data.set(flat.subarray(k * P + layout.offsets[p]!, k * P + layout.offsets[p]! + size), k * size);
      return [name, { shape: [K, ...layout.shapes[p]!], data }];
    }),
  );
}

/**
 * Reads and checks `[K, ...shape]` values by name (every one before any is used: all-or-nothing) and
 * returns where each member's block goes in the member-major vector.
 */
export function unstackWrites(layout: ParamLayout, values: Record<string, ParamValue>, K: number): [offset: number, data: Float32Array][] {
  if (!values || typeof values !== 'object') throw errors.type('params', 'an object of named parameter values, each [K, ...shape]', values);
  const writes: [number, Float32Array][] = [];
  for (const [name, v] of Object.entries(values)) {
    const p = layout.names.indexOf(name);
    if (p < 0) throw errors.invalidOption(`params.${name}`, `one of the model's parameters (${layout.names.join(', ')})`, raw('an unknown name'));
    const data = readExact(`params.${name}`, v, [K, ...layout.shapes[p]!]);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw errors.nonFinite(`params.${name}`, i);
    const size = layout.sizes[p]!;
    for (let k = 0; k < K; k++) writes.push([k * layout.total + layout.offsets[p]!, data.slice(k * size, (k + 1) * size)]);
  }
  return writes;
}

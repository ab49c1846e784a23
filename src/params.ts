import type { Arena } from './arena.js';
import { errors, raw } from './errors.js';
import type { NDArray, NestedArray, TensorLike } from './input.js';
import { splitFlat, type ParamLayout } from './model/define.js';
import { paramsRegion, type RegionSpec } from './shared/protocol.js';

/** A value accepted for one parameter by `setParams`. */
export type ParamValue = Float32Array | NDArray | TensorLike | NestedArray;

const HALVES = [paramsRegion(0), paramsRegion(1)] as const;

/** A flat parameter-sized vector as named, shaped, fresh copies (what the public API returns). */
export function namedArrays(layout: ParamLayout, flat: Float32Array): Record<string, NDArray> {
  const views = splitFlat(layout, flat);
  return Object.fromEntries(layout.names.map((n, i) => [n, { shape: [...layout.shapes[i]!], data: views[n]!.slice() }]));
}

/**
 * The parameters in shared memory, double-buffered: workers read the active region while a step
 * writes the other, and a step "commits" by flipping which one is active. A failed step therefore
 * never leaves half-updated parameters behind. `version` changes whenever the active contents change,
 * so workers know when to re-upload their cached tensors.
 */
export class ParamStore {
  private active = 0;
  version = 0;
  /** Set by setParams; written to shared memory at the start of the next call, inside the call queue. */
  private pending: Float32Array | null = null;

  constructor(
    private arena: Arena,
    readonly layout: ParamLayout,
    initial: Float32Array,
  ) {
    for (const r of HALVES) arena.ensure(r, layout.total);
    arena.view(HALVES[0], layout.total).set(initial);
  }

  /** The half workers read. */
  get region(): RegionSpec<'f32'> {
    return HALVES[this.active]!;
  }
  /** The half a step writes, made current by {@link commit}. */
  get inactiveRegion(): RegionSpec<'f32'> {
    return HALVES[1 - this.active]!;
  }

  /** The current parameters, flat (pending values included). A copy. */
  flat(): Float32Array {
    return this.pending ? this.pending.slice() : this.arena.view(this.region, this.layout.total).slice();
  }

  /** A copy of every parameter, by name, shaped. */
  get(): Record<string, NDArray> {
    return namedArrays(this.layout, this.flat());
  }

  /** Validates every value first, then stages them all (all-or-nothing). */
  set(values: Record<string, ParamValue>, read: (name: string, v: ParamValue, shape: readonly number[]) => Float32Array): void {
    if (!values || typeof values !== 'object') throw errors.type('params', 'an object of named parameter values', values);
    const next = this.flat();
    for (const [name, v] of Object.entries(values)) {
      const i = this.layout.names.indexOf(name);
      if (i < 0) throw errors.invalidOption(`params.${name}`, `one of the model's parameters (${this.layout.names.join(', ')})`, raw('an unknown name'));
      const data = read(`params.${name}`, v, this.layout.shapes[i]!);
      for (let k = 0; k < data.length; k++) if (!Number.isFinite(data[k]!)) throw errors.nonFinite(`params.${name}`, k);
      next.set(data, this.layout.offsets[i]!);
    }
    this.pending = next;
  }

  /** Writes staged values into the active region. Call only inside the call queue. */
  flush(): void {
    if (!this.pending) return;
    this.arena.view(this.region, this.layout.total).set(this.pending);
    this.pending = null;
    this.version++;
  }

  /** Makes the inactive region (already fully written) the active one. */
  commit(): void {
    this.active = 1 - this.active;
    this.version++;
  }
}

import type { Arena } from './arena.js';
import { errors, raw } from './errors.js';
import type { NDArray, NDArrayLike, NestedArray, NumericArray, TensorLike } from './input.js';
import { splitFlat, type ParamLayout } from './model/define.js';
import { paramsRegion, type RegionSpec } from './shared/protocol.js';

/** A value accepted for one parameter by `setParams`. */
export type ParamValue = NumericArray | NDArrayLike | TensorLike | NestedArray;

const HALVES = [paramsRegion(0), paramsRegion(1)] as const;

/** A flat parameter-sized vector as named, shaped, fresh copies (what the public API returns). */
export function namedArrays(layout: ParamLayout, flat: Float32Array): Record<string, NDArray> {
  const views = splitFlat(layout, flat);
  return Object.fromEntries(layout.names.map((n, i) => [n, { shape: [...layout.shapes[i]!], data: views[n]!.slice() }]));
}

/** One setParams: the values it names (flat offset → data), and how many calls had been made before it. */
interface Staged {
  after: number;
  writes: [offset: number, data: Float32Array][];
}

/**
 * The parameters in shared memory, double-buffered: workers read the active region while a step
 * writes the other, and a step "commits" by flipping which one is active. A failed step therefore
 * never leaves half-updated parameters behind. `version` changes whenever the active contents change,
 * so workers know when to re-upload their cached tensors.
 *
 * setParams is staged as just the parameters it names and applied at the start of the first call made
 * after it, on top of whatever the calls before it left: a step running meanwhile keeps its update of
 * every parameter the setParams does not name.
 */
export class ParamStore {
  private active = 0;
  version = 0;
  /** Set by setParams, in order; each is written to shared memory at the start of the first call made after it. */
  private pending: Staged[] = [];

  constructor(
    private arena: Arena,
    readonly layout: ParamLayout,
    initial: Float32Array,
    /** How many calls have been made so far (see {@link flush}). */
    private readonly callsMade: () => number,
    /** Copies of the parameters held, member-major (an ensemble's K; see src/ensemble/params.ts). */
    readonly members = 1,
  ) {
    this.total = layout.total * members;
    for (const r of HALVES) arena.ensure(r, this.total);
    arena.view(HALVES[0], this.total).set(initial);
  }

  /** Scalars held: P, or K·P for an ensemble. */
  readonly total: number;

  /** The half workers read. */
  get region(): RegionSpec<'f32'> {
    return HALVES[this.active]!;
  }
  /** The half a step writes, made current by {@link commit}. */
  get inactiveRegion(): RegionSpec<'f32'> {
    return HALVES[1 - this.active]!;
  }

  /** The current parameters, flat (pending values included, on top of the active ones). A copy. */
  flat(): Float32Array {
    const out = this.arena.view(this.region, this.total).slice();
    for (const s of this.pending) for (const [off, data] of s.writes) out.set(data, off);
    return out;
  }

  /** A copy of every parameter, by name, shaped. */
  get(): Record<string, NDArray> {
    return namedArrays(this.layout, this.flat());
  }

  /** Validates every value first, then stages them all (all-or-nothing). */
  set(values: Record<string, ParamValue>, read: (name: string, v: ParamValue, shape: readonly number[]) => Float32Array): void {
    if (!values || typeof values !== 'object') throw errors.type('params', 'an object of named parameter values', values);
    const writes: Staged['writes'] = [];
    for (const [name, v] of Object.entries(values)) {
      const i = this.layout.names.indexOf(name);
      if (i < 0) throw errors.invalidOption(`params.${name}`, `one of the model's parameters (${this.layout.names.join(', ')})`, raw('an unknown name'));
      const data = read(`params.${name}`, v, this.layout.shapes[i]!);
      for (let k = 0; k < data.length; k++) if (!Number.isFinite(data[k]!)) throw errors.nonFinite(`params.${name}`, k);
      writes.push([this.layout.offsets[i]!, data.slice()]);
    }
    this.stage(writes);
  }

  /** Stages validated values (flat offset → data) for the next call made after this one. */
  stage(writes: [offset: number, data: Float32Array][]): void {
    this.pending.push({ after: this.callsMade(), writes });
  }

  /**
   * Writes the values staged before call number `call` was made into the active region; later ones
   * (set while earlier calls ran) stay staged for the next call. Call only inside the call queue.
   */
  flush(call: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.after < call) n++;
    if (n === 0) return;
    const view = this.arena.view(this.region, this.total);
    for (const s of this.pending.splice(0, n)) for (const [off, data] of s.writes) view.set(data, off);
    this.version++;
  }

  /** The inactive half as a view: what an update has written and not yet committed. */
  written(): Float32Array {
    return this.arena.view(this.inactiveRegion, this.total);
  }

  /**
   * Makes `flat` (every parameter scalar) current at once, through the inactive half and a commit, as
   * an update would. A multi-node follower installs rank 0's update so, inside its own step call.
   */
  install(flat: Float32Array): void {
    if (flat.length !== this.total) throw new Error(`params: install of ${flat.length} values, expected ${this.total}`);
    this.written().set(flat);
    this.commit();
  }

  /** Makes the inactive region (already fully written) the active one. */
  commit(): void {
    this.active = 1 - this.active;
    this.version++;
  }
}

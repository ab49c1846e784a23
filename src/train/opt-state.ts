import type { Arena } from '../arena.js';
import { errors, raw } from '../errors.js';
import { optimizerRegion, type RegionSpec } from '../shared/protocol.js';
import { stateSlots, validateOptimizerSpec } from '../optim/spec.js';
import type { OptimizerSpec } from '../optim/types.js';

/** An optimizer's state on a pool: its update count and one vector per state slot. */
export interface OptimizerState {
  /** Updates applied so far (the next update is step `step + 1`). */
  step: number;
  /** Per slot (see `stateSlots`), a Float32Array with one entry per parameter scalar. */
  slots: Record<string, Float32Array>;
}

interface Entry {
  id: number;
  slots: string[];
  t: number;
  active: 0 | 1;
  pending: OptimizerState | null;
}

/**
 * Optimizer state in shared memory, one entry per optimizer object (like a tf.train optimizer
 * instance: pass the same `opt` each step to keep its moments; a new object starts fresh). Each slot is
 * double-buffered like the parameters, so a failed step leaves the state exactly as it was.
 */
export class OptimizerStates {
  private entries = new Map<OptimizerSpec, Entry>();

  constructor(
    private readonly arena: Arena,
    /** Parameter scalars: every slot has one entry per parameter. */
    private readonly P: number,
  ) {}

  private entry(spec: OptimizerSpec): Entry {
    let e = this.entries.get(spec);
    if (!e) {
      validateOptimizerSpec(spec);
      e = { id: this.entries.size, slots: stateSlots(spec), t: 0, active: 0, pending: null };
      for (const s of e.slots) for (const h of [0, 1] as const) this.arena.ensure(this.region(e, s, h), this.P);
      this.entries.set(spec, e);
    }
    return e;
  }

  private region(e: Entry, slot: string, half: 0 | 1): RegionSpec<'f32'> {
    return optimizerRegion(e.id, slot, half);
  }

  /** Regions to read (`sIn`) and write (`sOut`) in the next update, and the update count so far; applies staged state first. */
  prepare(spec: OptimizerSpec): { sIn: RegionSpec<'f32'>[]; sOut: RegionSpec<'f32'>[]; t: number } {
    const e = this.entry(spec);
    if (e.pending) {
      e.slots.forEach((s) => this.arena.view(this.region(e, s, e.active), this.P).set(e.pending!.slots[s]!));
      e.t = e.pending.step;
      e.pending = null;
    }
    return { sIn: e.slots.map((s) => this.region(e, s, e.active)), sOut: e.slots.map((s) => this.region(e, s, e.active === 0 ? 1 : 0)), t: e.t };
  }

  /** Makes the written halves current and counts the update. */
  commit(spec: OptimizerSpec): void {
    const e = this.entry(spec);
    e.active = e.active === 0 ? 1 : 0;
    e.t++;
  }

  get(spec: OptimizerSpec): OptimizerState {
    const e = this.entry(spec);
    if (e.pending) return { step: e.pending.step, slots: Object.fromEntries(Object.entries(e.pending.slots).map(([k, v]) => [k, v.slice()])) };
    return { step: e.t, slots: Object.fromEntries(e.slots.map((s) => [s, this.arena.view(this.region(e, s, e.active), this.P).slice()])) };
  }

  /** Validates `state` in full, then stages it for the next step. */
  set(spec: OptimizerSpec, state: OptimizerState): void {
    const e = this.entry(spec);
    const P = this.P;
    if (!state || typeof state !== 'object') throw errors.type('state', 'an object {step, slots}', state);
    if (!Number.isSafeInteger(state.step) || state.step < 0) throw errors.invalidOption('state.step', 'a non-negative integer', state.step);
    const given = Object.keys(state.slots ?? {});
    const extra = given.find((k) => !e.slots.includes(k));
    if (extra !== undefined) throw errors.invalidOption(`state.slots.${extra}`, `one of this optimizer's slots (${e.slots.join(', ') || 'none'})`, raw('an unknown slot'));
    for (const s of e.slots) {
      const v = state.slots?.[s];
      if (!(v instanceof Float32Array)) throw errors.type(`state.slots.${s}`, `a Float32Array of length ${P}`, v);
      if (v.length !== P) throw errors.invalidOption(`state.slots.${s}`, `a Float32Array of length ${P}`, raw(`length ${v.length}`));
      const bad = v.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw errors.nonFinite(`state.slots.${s}`, bad);
    }
    e.pending = { step: state.step, slots: Object.fromEntries(e.slots.map((s) => [s, state.slots[s]!.slice()])) };
  }
}

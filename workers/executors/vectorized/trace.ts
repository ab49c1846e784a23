/**
 * Recording a chunk's run at the inner-kernel level, for replay.ts ("trace once, replay", what
 * `jax.jit` does). While the normal path runs one chunk, a {@link Recorder} notes every operation on
 * the inner backend in order: each inner kernel call (`VmapBackend.callInner`: name, inputs, attrs,
 * output shapes), each inner write made outside a kernel (constants of rules and of the model, the
 * uploads of x and y), and what the executor reads out (`readInto`) or takes away (exports). The
 * only inputs that may vary between chunks are x, y and the caller's parameter tensors; every other
 * inner value must be a recorded write or a recorded kernel's output, else the run is refused.
 *
 * The recording is done by patching instance methods (and a few globals) for the duration of the one
 * run, so the normal path costs nothing extra when no recording is on. Anything whose replay could
 * differ refuses the trace (see {@link Recorder.refuse}): a random op, a value read (data-dependent
 * control flow), the per-sample fallback, a nested kernel call, a data move between backends, data
 * from outside the run.
 */
import * as tf from '@tensorflow/tfjs';
import type { VmapBackend } from '../../../src/shared/batching/backend.js';
import { Ctx } from '../../../src/shared/batching/context.js';
import { asList } from '../../../src/shared/batching/values.js';

/** An input of a recorded kernel: slot `src` (≥ 0, a value of the trace) or parameter `~src` (< 0). */
export interface In {
  src: number;
  shape: number[];
  dtype: tf.DataType;
}

interface Meta {
  shape: number[];
  dtype: tf.DataType;
}

/** One recorded step; each creates new slots (one inner reference each). */
export type Step =
  | ({ op: 'write'; slot: number; from: 'x' | 'y' | tf.TypedArray } & Meta)
  | { op: 'kernel'; kernel: string; names: string[] | null; inputs: (In | undefined)[]; attrs: tf.NamedAttrMap; outs: ({ slot: number } & Meta)[] };

/** A read by the executor: slot `slot` into sink `sink` (repeated n times when unbatched). */
export interface Read extends Meta {
  slot: number;
  batched: boolean;
  sink: number;
}

/** A finished trace: the steps to run, what to read and export, and when to free each slot. */
export interface Trace {
  steps: Step[];
  reads: Read[];
  /** Slots handed to the caller at the end (one reference each), with their shapes. */
  exports: ({ slot: number } & Meta)[];
  slots: number;
  /** Per step, the slots whose last use it is (freed right after it); kept slots are freed at the end. */
  freeAfter: number[][];
  /** Per step, false when none of its outputs is ever used (dead: skipped on replay). */
  live: boolean[];
}

/** What the recorded run is allowed to vary: the chunk's x and y, and the parameters. */
export interface RecordInputs {
  x: Float32Array;
  y?: Float32Array;
  params: tf.Tensor[];
  sinks: Float32Array[];
}

/** tfjs op scopes that draw random numbers (see src/shared/random/scope.ts), by name. */
const RANDOM_SCOPE = /^(random|truncatedNormal|multinomial|dropout)/i;

type Restore = () => void;

/** Replaces `obj[key]` by `wrap(original)` as an own property; the returned function undoes it. */
function patch<O extends object, K extends keyof O>(obj: O, key: K, wrap: (orig: O[K]) => O[K]): Restore {
  const own = Object.prototype.hasOwnProperty.call(obj, key);
  const orig = obj[key];
  obj[key] = wrap(orig);
  return () => {
    if (own) obj[key] = orig;
    else delete obj[key];
  };
}

/** Records one run of the normal path. Use {@link record}. */
export class Recorder {
  readonly steps: Step[] = [];
  readonly reads: Read[] = [];
  private readonly slotOf = new Map<tf.DataId, number>();
  private readonly paramOf = new Map<tf.DataId, number>();
  private slots = 0;
  /** Inside an inner kernel: its own writes are its business, and a nested kernel call is refused. */
  private depth = 0;
  /** The first reason the run cannot be replayed, or null. */
  refused: string | null = null;

  constructor(private readonly io: RecordInputs) {
    io.params.forEach((p, i) => this.paramOf.set(p.dataId, i));
    if (this.paramOf.size !== io.params.length) this.refuse('two parameters share data');
    if (io.x === io.y) this.refuse('x and y are one array'); // told apart by identity below
  }

  refuse(why: string): void {
    this.refused ??= why;
  }

  private newSlot(dataId: tf.DataId): number {
    this.slotOf.set(dataId, this.slots);
    return this.slots++;
  }

  /** The source of inner data `info` as a kernel input; refuses data from outside the run. */
  private source(info: tf.TensorInfo): In | undefined {
    const slot = this.slotOf.get(info.dataId);
    const src = slot ?? (this.paramOf.has(info.dataId) ? ~this.paramOf.get(info.dataId)! : undefined);
    if (src === undefined) {
      this.refuse('a kernel input that is neither x, y, a parameter nor made in the run');
      return undefined;
    }
    return { src, shape: info.shape.slice(), dtype: info.dtype };
  }

  kernel(kernel: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap, out: tf.TensorInfo | tf.TensorInfo[]): void {
    const names = Array.isArray(inputs) ? null : Object.keys(inputs);
    const list = (names ? names.map((k) => inputs[k]) : (inputs as unknown as tf.TensorInfo[])) as (tf.TensorInfo | undefined)[];
    let cloned: tf.NamedAttrMap = {};
    try {
      cloned = structuredClone(attrs); // rules may build attrs from objects they reuse
    } catch {
      this.refuse(`attributes of '${kernel}' that cannot be copied`);
    }
    const ins = list.map((t) => (t == null ? undefined : this.source(t)));
    const outs = asList(out).map((o) => ({ slot: this.newSlot(o.dataId), shape: o.shape.slice(), dtype: o.dtype }));
    this.steps.push({ op: 'kernel', kernel, names, inputs: ins, attrs: cloned, outs });
  }

  write(values: tf.BackendValues | null, shape: number[], dtype: tf.DataType, dataId: tf.DataId): void {
    let from: 'x' | 'y' | tf.TypedArray;
    if (values === this.io.x) from = 'x';
    else if (values != null && values === this.io.y) from = 'y';
    else if (ArrayBuffer.isView(values) && dtype !== 'string') from = (values as tf.TypedArray).slice();
    else return this.refuse('an inner write of non-numeric values');
    this.steps.push({ op: 'write', slot: this.newSlot(dataId), from, shape: shape.slice(), dtype });
  }

  read(info: tf.TensorInfo, batched: boolean, dst: Float32Array): void {
    const slot = this.slotOf.get(info.dataId);
    const sink = this.io.sinks.indexOf(dst);
    if (slot === undefined || sink < 0) return this.refuse('a read of data not made in the run');
    this.reads.push({ slot, batched, sink, shape: info.shape.slice(), dtype: info.dtype });
  }

  /** Installs the hooks on `vm`, its inner backend, the engine and globals; returns the undo. */
  install(vm: VmapBackend): Restore {
    const rec = this;
    const eng = tf.engine();
    const undo: Restore[] = [
      patch(vm, 'callInner', (orig) => function (this: VmapBackend, kernel, inputs, attrs) {
        if (rec.depth > 0) rec.refuse(`a nested inner kernel call ('${kernel}')`);
        rec.depth++;
        let out: tf.TensorInfo | tf.TensorInfo[];
        try {
          out = orig.call(this, kernel, inputs, attrs);
        } finally {
          rec.depth--;
        }
        if (rec.depth === 0) rec.kernel(kernel, inputs, attrs, out);
        return out;
      }),
      patch(vm.inner, 'write', (orig) => function (this: tf.KernelBackend, values, shape, dtype) {
        const dataId = orig.call(this, values, shape, dtype);
        if (rec.depth === 0) rec.write(values, shape, dtype, dataId);
        return dataId;
      }),
      patch(vm, 'readInto', (orig) => function (this: VmapBackend, t, n, dst) {
        const v = this.valueFor(t);
        rec.read(v.info, v.batched, dst);
        return orig.call(this, t, n, dst);
      }),
      patch(vm, 'move', (orig) => function (this: VmapBackend, ...a) {
        rec.refuse('data moved between backends');
        return orig.apply(this, a);
      }),
      patch(eng, 'readSync', (orig) => function (this: unknown, id) {
        rec.refuse('a value read (dataSync, arraySync, print)');
        return orig.call(this, id);
      }),
      patch(eng, 'read', (orig) => function (this: unknown, id) {
        rec.refuse('a value read (data, array)');
        return orig.call(this, id);
      }),
      patch(eng, 'startScope', (orig) => function (this: unknown, name?: string) {
        if (name && RANDOM_SCOPE.test(name)) rec.refuse(`a random op (${name})`);
        return orig.call(this, name);
      }),
      patch(Math, 'random', (orig) => () => {
        rec.refuse('Math.random');
        return orig();
      }),
      patch(Ctx.prototype, 'perSample', (orig) => function (this: Ctx, ...a) {
        rec.refuse('the per-sample fallback');
        return orig.apply(this, a);
      }),
    ];
    return () => undo.reverse().forEach((u) => u());
  }

  /**
   * The trace of the finished run, whose results are `exports` (inner data the caller owns); null if
   * refused. `rewrite` may change the steps in place before liveness is worked out (fuse.ts).
   */
  finish(exports: tf.TensorInfo[], rewrite?: (steps: Step[], reads: Read[], exports: Trace['exports']) => void): Trace | null {
    const ex = exports.map((e) => ({ slot: this.slotOf.get(e.dataId) ?? -1, shape: e.shape.slice(), dtype: e.dtype }));
    if (ex.some((e) => e.slot < 0)) this.refuse('an export of data not made in the run');
    if (this.refused) return null;
    rewrite?.(this.steps, this.reads, ex);
    return plan(this.steps, this.reads, ex, this.slots);
  }
}

/** Liveness: which steps matter for the reads and exports, and after which step each slot can go. */
function plan(steps: Step[], reads: Read[], exports: Trace['exports'], slots: number): Trace {
  const kept = new Set([...reads.map((r) => r.slot), ...exports.map((e) => e.slot)]);
  const needed = new Set(kept);
  const live = new Array<boolean>(steps.length).fill(false);
  for (let i = steps.length - 1; i >= 0; i--) {
    const st = steps[i]!;
    const outs = st.op === 'write' ? [st.slot] : st.outs.map((o) => o.slot);
    if (!outs.some((s) => needed.has(s))) continue;
    live[i] = true;
    if (st.op === 'kernel') for (const inp of st.inputs) if (inp && inp.src >= 0) needed.add(inp.src);
  }
  // A slot is freed after its last use on replay, or right after its step when nothing uses it.
  const last = new Array<number>(slots).fill(-1);
  steps.forEach((st, i) => {
    if (!live[i]) return;
    if (st.op === 'write') last[st.slot] = i;
    else {
      for (const o of st.outs) last[o.slot] = i;
      for (const inp of st.inputs) if (inp && inp.src >= 0) last[inp.src] = i;
    }
  });
  const freeAfter = steps.map((): number[] => []);
  last.forEach((i, s) => {
    if (i >= 0 && !kept.has(s)) freeAfter[i]!.push(s);
  });
  return { steps, reads, exports, slots, freeAfter, live };
}

/**
 * Kernel dispatch for the vmap backend and the toolbox batching rules are written with.
 *
 * Every inner-backend tensor a rule creates goes through a {@link Ctx}, which disposes whatever the rule
 * did not return once the kernel is done: rules never free memory by hand, so they cannot leak it.
 */
import * as tf from '@tensorflow/tfjs';
import { currentLayer } from '../../model/layers/current.js';
import type { VmapBackend } from './backend.js';
import { BatchingRuleError, warnOnce } from './errors.js';
import { asList, inputList, lazyOperands, mapInputs, mapOuts, shapeOf, type BInputs, type BVal, type LazyGhost, type Outs } from './values.js';

/**
 * A batching rule: computes kernel `kernel` on inputs of which at least one is batched (any, for a
 * standalone rule), returning batched (leading axis n) or unbatched results. Must mirror the inner kernel's single/list output form.
 */
export type Rule = (ctx: Ctx, inputs: BInputs, attrs: tf.NamedAttrMap, kernel: string) => Outs<BVal>;

/**
 * The rule table as a kernel scope sees it. Handed in by whoever dispatches (register.ts) rather than
 * imported, because the rules themselves are written against this module.
 */
export interface RuleTable {
  /** kernel name -> batching rule. Kernels not in here run through the per-sample fallback. */
  readonly rules: ReadonlyMap<string, Rule>;
  /** Kernels whose rule also runs where the inner backend lacks the kernel (see RuleConfig.standalone). */
  readonly standalone: ReadonlySet<string>;
}

/** The scope of one vmap kernel call: inner-kernel calls, views, and the temporaries they leave. */
export class Ctx {
  private readonly temps = new Set<tf.TensorInfo>();
  /** Nesting of {@link apply}: 1 while the kernel the engine asked for runs, deeper for rules it composes. */
  depth = 0;

  constructor(
    readonly vm: VmapBackend,
    private readonly table: RuleTable,
  ) {}

  /** The batch size. */
  get n(): number {
    return this.vm.n;
  }

  shape(v: BVal): number[] {
    return shapeOf(v);
  }

  /** `info`, an inner tensor whose leading axis is the batch, as a batched value (no copy). */
  batched(info: tf.TensorInfo): BVal {
    return { info, batched: true };
  }

  /** Runs an inner-backend kernel; its outputs are temporaries of this scope. */
  call(kernel: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: tf.NamedAttrMap = {}): Outs<tf.TensorInfo> {
    const out = this.vm.callInner(kernel, inputs as tf.NamedTensorInfoMap, attrs);
    for (const o of asList(out)) this.temps.add(o);
    return out;
  }

  /** {@link call} for single-output kernels. */
  call1(kernel: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    return asList(this.call(kernel, inputs, attrs))[0]!;
  }

  /** The same inner data seen with another shape: free, because inner data is always dense row-major. */
  view(info: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    if (tf.util.arraysEqual(info.shape, shape)) return info;
    tf.util.assert(tf.util.sizeFromShape(info.shape) === tf.util.sizeFromShape(shape), () => `vectorized: internal view [${info.shape}] -> [${shape}]`);
    this.vm.inner.incRef(info.dataId);
    const v = { dataId: info.dataId, shape, dtype: info.dtype };
    this.temps.add(v);
    return v;
  }

  transpose(info: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    return perm.every((p, i) => p === i) ? info : this.call1('Transpose', { x: info }, { perm });
  }

  /** `v` as a batched inner tensor `[n, ...shape]`; an unbatched value is copied n times. */
  batch(v: BVal): tf.TensorInfo {
    return v.batched ? v.info : this.broadcastTo(v, v.info.shape);
  }

  /** Pads a batched value's per-sample shape with leading 1s up to `rank`, so that right-aligned
   * broadcasting against other operands can't mix the batch axis with a per-sample axis. */
  expandTo(v: BVal, rank: number): BVal {
    const s = shapeOf(v);
    if (!v.batched || s.length >= rank) return v;
    return this.batched(this.view(v.info, [this.n, ...new Array<number>(rank - s.length).fill(1), ...s]));
  }

  /** `v` broadcast (numpy rules, per sample) to exactly `[n, ...shape]`. */
  broadcastTo(v: BVal, shape: number[]): tf.TensorInfo {
    const s = shapeOf(v);
    const cur = [...new Array<number>(shape.length - s.length).fill(1), ...s];
    const x = this.view(v.info, [v.batched ? this.n : 1, ...cur]);
    const reps = [v.batched ? 1 : this.n, ...shape.map((d, i) => (cur[i] === d ? 1 : d))];
    return reps.every((r) => r === 1) ? x : this.call1('Tile', { x }, { reps });
  }

  /** A constant inner tensor, freed with the scope. */
  constant(values: tf.BackendValues, shape: number[], dtype: tf.DataType): tf.TensorInfo {
    const info = { dataId: this.vm.inner.write(values, shape, dtype), shape, dtype };
    this.temps.add(info);
    return info;
  }

  /** Runs kernel `kernel` at the batching level: the inner kernel as is when nothing is batched, else
   * its rule, else the per-sample fallback. Rules compose through this. */
  apply(kernel: string, inputs: BInputs, attrs: tf.NamedAttrMap = {}): Outs<BVal> {
    const rule = this.table.rules.get(kernel);
    const own = rule && this.table.standalone.has(kernel) && !tf.getKernel(kernel, this.vm.innerName);
    if (!own && !sharesInput(kernel, inputs, attrs) && !inputList(inputs).some((v) => v.batched)) return mapOuts(this.call(kernel, mapInputs(inputs, (v) => v.info), attrs), (info) => ({ info, batched: false }));
    this.depth++;
    try {
      return rule ? rule(this, inputs, attrs, kernel) : this.perSample(kernel, inputs, attrs);
    } catch (e) {
      // Name the rule that failed: an inner kernel's error ("backend 'wasm' has no kernel 'X'") alone
      // does not say which batching rule called it. A rule's own refusal already names its kernel, and
      // when rules compose, the innermost rule's name is kept.
      if (!rule || (e instanceof BatchingRuleError && (e.kernel === kernel || e.rule !== undefined))) throw e;
      throw new BatchingRuleError(kernel, `vectorized: the batching rule for kernel '${kernel}' failed: ${(e as Error)?.message ?? String(e)}`, kernel);
    } finally {
      this.depth--;
    }
  }

  /**
   * A lazy batch of outer products of the rows of `a` [n, M] and `b` [n, P] (see LazyOuter), or null
   * when laziness is off or the result would feed another rule of this kernel rather than the engine.
   */
  lazyOuter(a: tf.TensorInfo, b: tf.TensorInfo, shape: number[]): BVal | null {
    // Under ghost clipping the ghost forms decide (see lazyGhost): an outer product is a Gram of T = 1.
    if (!this.vm.sumMode || this.vm.ghost || this.depth !== 1) return null;
    this.vm.inner.incRef(a.dataId);
    this.vm.inner.incRef(b.dataId);
    return { info: { dataId: {}, shape, dtype: 'float32' }, batched: true, lazy: { a: { ...a }, b: { ...b }, shape } };
  }

  /**
   * Ghost clipping's lazy per-sample gradient `l` (its operands are taken with a reference of their
   * own), or null outside ghost mode or when the result would feed another rule of this kernel.
   */
  lazyGhost(l: LazyGhost): BVal | null {
    if (!this.vm.ghost || this.depth !== 1) return null;
    for (const o of lazyOperands(l)) this.vm.inner.incRef(o.dataId);
    return { info: { dataId: {}, shape: l.shape, dtype: 'float32' }, batched: true, lazy: l };
  }

  /** Makes inner data the caller owns (a VmapBackend helper's result) a temporary of this scope. */
  own(info: tf.TensorInfo): tf.TensorInfo {
    this.temps.add(info);
    return info;
  }

  /** {@link apply} for single-output kernels. */
  apply1(kernel: string, inputs: BInputs, attrs: tf.NamedAttrMap = {}): BVal {
    return asList(this.apply(kernel, inputs, attrs))[0]!;
  }

  /**
   * The fallback: slices every batched input into its n samples, runs the inner kernel once per sample
   * and stacks the results. Correct for any kernel whose per-sample outputs all have one shape, but
   * slow, so it warns once per kernel (and reason), like torch.func does.
   */
  perSample(kernel: string, inputs: BInputs, attrs: tf.NamedAttrMap, why?: string): Outs<BVal> {
    const layer = currentLayer(); // a tfjs-layers model's layer, when the kernel runs inside one's call
    const where = layer ? ` in ${layer}` : '';
    warnOnce(`${kernel}|${why ?? ''}${where}`, `gradpool: no batching rule for kernel '${kernel}'${why ? ` with ${why}` : ''}${where}; running it per sample (performance drop)`);
    const split = new Map<BVal, tf.TensorInfo[]>();
    for (const v of inputList(inputs)) if (v.batched) split.set(v, asList(this.call('Unpack', { value: v.info }, { axis: 0 })));
    let listForm = false;
    const rows: tf.TensorInfo[][] = [];
    for (let i = 0; i < this.n; i++) {
      const out = this.call(kernel, mapInputs(inputs, (v) => (v.batched ? split.get(v)![i]! : v.info)), attrs);
      listForm = Array.isArray(out);
      rows.push(asList(out));
    }
    const first = rows[0]!;
    for (const row of rows)
      for (let j = 0; j < first.length; j++) {
        const a = first[j]!;
        const o = row[j];
        if (row.length !== first.length || !o || o.dtype !== a.dtype || !tf.util.arraysEqual(o.shape, a.shape))
          throw new BatchingRuleError(kernel, `vectorized: kernel '${kernel}' gives outputs of different shapes for different samples ([${a.shape}] vs [${o?.shape ?? ''}]), so it cannot run on a batch`);
      }
    const outs = first.map((_, j) => this.batched(this.call1('Pack', rows.map((r) => r[j]!), { axis: 0 })));
    return listForm ? outs : outs[0]!;
  }

  /** Hands the results to the engine: each becomes a vmap data id owning one inner reference. */
  finish(outs: Outs<BVal>): Outs<tf.TensorInfo> {
    return mapOuts(outs, (v) => {
      if (v.lazy) return this.vm.adoptLazy(v.lazy);
      if (v.batched && v.info.shape[0] !== this.n) throw new Error(`vectorized: internal error, batched result of shape [${v.info.shape}] for n=${this.n}`);
      let info = v.info;
      if (this.temps.has(info)) this.temps.delete(info);
      else {
        // An input (or an output already handed over) returned again: take a reference of our own.
        this.vm.inner.incRef(info.dataId);
        info = { ...info };
      }
      return this.vm.adopt({ info, batched: v.batched });
    });
  }

  /** Frees every temporary not handed over by {@link finish}. */
  dispose(): void {
    for (const t of this.temps) this.vm.release(t.dataId);
    this.temps.clear();
  }
}

/**
 * Kernels whose output is their input's data (Identity, a Cast to the same dtype): their rules share
 * the inner data even when nothing is batched. Run on the inner backend instead, wasm's copy gave the
 * tape's clone of each weight a fresh id per chunk, and XNNPACK repacks a matmul's weights per id
 * (a 784×128 layer: ~0.5 ms of each 32-sample chunk).
 */
function sharesInput(kernel: string, inputs: BInputs, attrs: tf.NamedAttrMap): boolean {
  if (kernel === 'Identity') return true;
  return kernel === 'Cast' && (inputs as { x?: BVal }).x?.info.dtype === attrs.dtype;
}

/** The kernelFunc of every vmap kernel. */
export function dispatch(vm: VmapBackend, table: RuleTable, kernel: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): Outs<tf.TensorInfo> {
  // Ghost clipping: views of a lazy weight gradient stay lazy (VmapBackend.lazyView).
  const kept = vm.ghost ? vm.lazyView(kernel, inputs, attrs) : null;
  if (kept) return kept;
  const ctx = new Ctx(vm, table);
  try {
    const bin: BInputs = Array.isArray(inputs)
      ? (inputs as tf.TensorInfo[]).map((t) => vm.resolve(t))
      : Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t == null ? undefined : vm.resolve(t)]));
    return ctx.finish(ctx.apply(kernel, bin, attrs));
  } finally {
    ctx.dispose();
  }
}

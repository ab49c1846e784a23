/**
 * The wrapping tfjs backend behind the vectorized executor ("vmap for TensorFlow.js").
 *
 * To the tfjs engine, op functions, shape checks and gradient functions, a tensor on this backend has
 * its PER-SAMPLE shape. Its data is a tensor of an inner backend ('cpu' or 'wasm') that is either
 * batched, `[n, ...shape]`, or unbatched, `shape` (JAX's in_dims=None: parameters, constants). Every
 * kernel is registered for this backend with a batching rule (see rules/) that runs the inner
 * backend's kernels on the batched data. Because everything above the kernel layer is untouched,
 * `tf.grads` works as is, and the gradient of an unbatched parameter comes out batched: per-sample
 * gradients.
 *
 * This file is the table of vmap data ids (each batched, unbatched or lazy), the KernelBackend
 * contract over it and the ways in and out of a run; the access to the wrapped backend is inner.ts,
 * the arithmetic behind lazy values lazy.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchingRuleError } from './errors.js';
import { disposeAbandonedTape, engine } from './engine.js';
import { InnerBackend } from './inner.js';
import { multiplyOut, sumOuter, viewShape } from './lazy.js';
import { lazyOperands, shapeOf, type BVal, type LazyGhost, type LazyOuter } from './values.js';

interface Rec {
  info: tf.TensorInfo;
  batched: boolean;
  lazy?: LazyOuter | LazyGhost;
  /** How many engine tensors share this vmap data id (the KernelBackend refCount contract). */
  refs: number;
}

/** A tfjs backend whose data ids stand for batched or unbatched inner-backend tensors. */
export class VmapBackend extends InnerBackend {
  private readonly recs = new Map<tf.DataId, Rec>();
  /** Batch size of the run in progress (0 outside a run). */
  n = 0;
  /**
   * Set while only the batch-SUM of parameter gradients is wanted: outer products may then stay lazy
   * (see {@link LazyOuter}). Results are the same either way; only the work differs.
   */
  sumMode = false;
  /**
   * Set (with {@link sumMode}) while a DP step clips by ghost norms: weight gradients over T positions
   * and embedding gradients stay lazy as well ({@link LazyGhost}), and views keep them lazy.
   */
  ghost = false;

  /** Looks up a kernel input. Data ids we don't know are inner (or other-backend) tensors created
   * outside the run, e.g. the caller's parameters: they are unbatched and used in place. */
  resolve(t: tf.TensorInfo): BVal {
    const r = this.recs.get(t.dataId);
    if (r?.lazy) this.materialize(r);
    return r ? { info: r.info, batched: r.batched } : { info: t, batched: false };
  }

  /** Computes a lazy value in place: the per-sample tensor it stands for, for any use but ghost clipping's. */
  private materialize(r: Rec): void {
    r.info = multiplyOut(this, r.lazy!);
    r.lazy = undefined;
  }

  /**
   * Ghost mode: a view-like kernel (Identity, Reshape, same-dtype Cast, an identity Transpose) of a
   * lazy ghost value is the same lazy value seen with another shape (its data order is row-major
   * either way), so gather's and tensordot's reshapes do not multiply it out. Null for anything else.
   */
  lazyView(kernel: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo | null {
    const x = inputs.x;
    const l = x ? this.recs.get(x.dataId)?.lazy : undefined;
    if (!this.ghost || !x || !l || !('kind' in l)) return null;
    const shape = viewShape(kernel, attrs, l.shape.slice(1));
    if (!shape) return null;
    for (const o of lazyOperands(l)) this.inner.incRef(o.dataId);
    return this.adoptLazy({ ...l, shape: [this.n, ...shape] });
  }

  /** Registers a lazy value (taking over one reference to each of its operands). */
  adoptLazy(l: LazyOuter | LazyGhost): tf.TensorInfo {
    const dataId = {};
    this.recs.set(dataId, { info: { dataId: {}, shape: l.shape, dtype: 'float32' }, batched: true, refs: 1, lazy: l });
    return { dataId, shape: l.shape.slice(1), dtype: 'float32' };
  }

  /**
   * The sum over the batch of `t`, as inner data of its per-sample shape (the caller owns it): one GEMM
   * for a lazy outer product, an axis-0 Sum for other batched data, n × t for unbatched data.
   */
  batchSum(t: tf.TensorInfo): tf.TensorInfo {
    const r = this.recs.get(t.dataId);
    const shape = t.shape;
    if (r?.lazy && !('kind' in r.lazy)) return sumOuter(this, r.lazy, shape);
    const v = this.resolve(t);
    if (v.batched) return { ...(this.callInner('Sum', { x: v.info }, { axis: [0], keepDims: false }) as tf.TensorInfo), shape };
    const scale = { dataId: this.inner.write(new Float32Array([this.n]), [], 'float32'), shape: [], dtype: 'float32' as const };
    try {
      return { ...(this.callInner('Multiply', { a: v.info, b: scale }, {}) as tf.TensorInfo), shape };
    } finally {
      this.release(scale.dataId);
    }
  }

  /** Takes ownership of one reference to `v.info` and returns the engine-facing per-sample TensorInfo. */
  adopt(v: BVal): tf.TensorInfo {
    const dataId = {};
    this.recs.set(dataId, { info: v.info, batched: v.batched, refs: 1 });
    return { dataId, shape: shapeOf(v), dtype: v.info.dtype };
  }

  /**
   * One inner reference to each operand of `t`'s lazy outer product (the caller owns them; `t` stays
   * lazy), or null when `t` is not one. Ghost clipping reads a dense layer's per-sample gradient
   * norms off the operands: ‖aᵢᵀbᵢ‖ = ‖aᵢ‖·‖bᵢ‖.
   */
  takeLazy(t: tf.Tensor): LazyOuter | null {
    const l = this.recs.get(t.dataId)?.lazy;
    if (!l || 'kind' in l) return null;
    this.inner.incRef(l.a.dataId);
    this.inner.incRef(l.b.dataId);
    return { a: { ...l.a }, b: { ...l.b }, shape: l.shape };
  }

  /** {@link takeLazy} for ghost clipping's lazy values: a copy holding one reference to each operand, or null. */
  takeGhost(t: tf.Tensor): LazyGhost | null {
    const l = this.recs.get(t.dataId)?.lazy;
    if (!l || !('kind' in l)) return null;
    for (const o of lazyOperands(l)) this.inner.incRef(o.dataId);
    return { ...l, shape: l.shape.slice() };
  }

  /** The batching-level value behind an engine tensor of this backend. */
  valueFor(t: tf.Tensor): BVal {
    return this.resolve({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
  }

  /**
   * Runs `fn` with this backend as tfjs's current backend and `n` as the batch size. Swaps the engine's
   * backend fields directly rather than calling `tf.setBackend`, which would re-run every inner kernel's
   * setup (wasm cwraps) on each switch back.
   */
  run<T>(n: number, fn: () => T): T {
    const e = engine();
    // A vmap inside a vmap runs on the vmap backend wrapping the outer one; anything else nested is a bug.
    if (e.backendInstance instanceof VmapBackend && e.backendInstance !== this.inner) throw new Error(`vectorized: cannot run '${this.name}' inside a run of '${e.backendName}'`);
    if (this.n !== 0) throw new Error(`vectorized: '${this.name}' is already running`);
    if (e.pendingBackendInit != null) throw new Error('vectorized: a tfjs backend is still initialising; await tf.ready() first');
    const prevName = e.backendName;
    const prevInstance = e.backendInstance;
    e.backendName = this.name;
    e.backendInstance = this;
    this.n = n;
    try {
      return fn();
    } catch (err) {
      disposeAbandonedTape();
      throw err;
    } finally {
      e.backendName = prevName;
      e.backendInstance = prevInstance;
      this.n = 0;
    }
  }

  /** Uploads `values` to the inner backend as one tensor of `fullShape` and returns it as an engine
   * tensor of this backend (per-sample shape `fullShape.slice(1)` when `batched`). */
  upload(values: tf.TypedArray, fullShape: number[], batched: boolean, dtype: tf.DataType = 'float32'): tf.Tensor {
    const dataId = this.inner.write(values, fullShape, dtype);
    const info = this.adopt({ info: { dataId, shape: fullShape, dtype }, batched });
    return engine().makeTensorFromTensorInfo(info, this);
  }

  /** Wraps an inner-backend tensor whose leading axis is the batch, without copying. */
  wrapBatched(t: tf.Tensor): tf.Tensor {
    this.inner.incRef(t.dataId);
    const info = this.adopt({ info: { dataId: t.dataId, shape: t.shape, dtype: t.dtype }, batched: true });
    return engine().makeTensorFromTensorInfo(info, this);
  }

  /**
   * Writes all n samples' values of `t` into `dst`, sample-major; an unbatched value is repeated n times.
   * `dst` must hold exactly n * (per-sample size) values.
   */
  readInto(t: tf.Tensor, n: number, dst: Float32Array): void {
    const v = this.valueFor(t);
    const size = tf.util.sizeFromShape(v.batched ? v.info.shape.slice(1) : v.info.shape);
    if (dst.length !== n * size) throw new Error(`vectorized: expected ${dst.length / n} values per sample, got shape [${t.shape}]`);
    this.copyOut(v, n, dst, this.recs.has(t.dataId) ? undefined : (tf.engine().readSync(t.dataId) as Float32Array));
  }

  /** {@link readInto} for inner data `v` (also used by replay.ts); `src` is its values when already read. */
  copyOut(v: BVal, n: number, dst: Float32Array, src = (this.heapView(v.info) ?? this.inner.readSync(v.info.dataId)) as Float32Array): void {
    if (v.batched) dst.set(src);
    else for (let i = 0, size = src.length; i < n; i++) dst.set(src, i * size);
  }

  /** One inner reference to `t`'s data as it is, batched or not; the caller owns it. */
  exportValue(t: tf.Tensor): BVal {
    const v = this.valueFor(t);
    this.inner.incRef(v.info.dataId);
    return { info: { ...v.info }, batched: v.batched };
  }

  /** One inner-backend reference to `t`'s data as `[n, ...shape]` (broadcasting an unbatched value);
   * the caller owns it. Used to hand results of `vmap` back as inner tensors. */
  exportBatched(t: tf.Tensor, n: number): tf.TensorInfo {
    const v = this.valueFor(t);
    if (v.batched) {
      this.inner.incRef(v.info.dataId);
      return { ...v.info };
    }
    const s = v.info.shape;
    return this.callInner('Tile', { x: { ...v.info, shape: [1, ...s] } }, { reps: [n, ...s.map(() => 1)] }) as tf.TensorInfo;
  }

  /** Number of live vmap data ids (each owns exactly one inner reference). */
  override numDataIds(): number {
    return this.recs.size;
  }

  override refCount(dataId: tf.DataId): number {
    return this.recs.get(dataId)?.refs ?? 0;
  }

  override incRef(dataId: tf.DataId): void {
    const r = this.recs.get(dataId);
    if (r) r.refs++;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const r = this.recs.get(dataId);
    if (!r) return true;
    r.refs--;
    if (!force && r.refs > 0) return false;
    this.recs.delete(dataId);
    if (r.lazy) for (const o of lazyOperands(r.lazy)) this.release(o.dataId);
    else this.release(r.info.dataId);
    return true;
  }

  /** Tensors created inside the model (`tf.scalar(2)`, `tf.ones`) are constants: unbatched. */
  override write(values: tf.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    const dataId = this.inner.write(values, shape, dtype);
    return this.adopt({ info: { dataId, shape, dtype }, batched: false }).dataId;
  }

  override move(dataId: tf.DataId, values: tf.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    const inner = this.inner.write(values, shape, dtype);
    this.recs.set(dataId, { info: { dataId: inner, shape, dtype }, batched: false, refs: refCount });
  }

  /** A batched tensor has n values per element, so no per-sample read exists (JAX would raise a
   * ConcretizationTypeError here); the executor falls back to the sample loop. */
  override readSync(dataId: tf.DataId): tf.BackendValues {
    const r = this.recs.get(dataId);
    if (!r) throw new Error('vectorized: read of a disposed tensor');
    if (r.batched)
      throw new BatchingRuleError('readSync', 'vectorized: the model read the values of a per-sample tensor (dataSync/arraySync/print); that is not possible while a whole chunk runs at once');
    return this.inner.readSync(r.info.dataId);
  }

  override read(dataId: tf.DataId): Promise<tf.BackendValues> {
    try {
      return Promise.resolve(this.readSync(dataId));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  override dispose(): void {
    for (const r of this.recs.values()) for (const i of r.lazy ? lazyOperands(r.lazy) : [r.info]) this.release(i.dataId);
    this.recs.clear();
  }
}

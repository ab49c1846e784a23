/**
 * The vmap backend's hold on the backend it wraps ('cpu' or 'wasm'): running inner kernels so that
 * the caller owns their outputs, releasing inner data, reading it without a copy, and the
 * KernelBackend queries that only the inner backend can answer. Kept apart from backend.ts, which
 * is about the vmap data ids themselves, so the lazy-value kernels (lazy.ts) can build on it alone.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchingRuleError } from './errors.js';
import { engine } from './engine.js';

/**
 * Kernels that read `.rank` off their inputs (tfjs-backend-cpu's Dilation2D backprops assert on
 * `dy.rank`): the engine hands kernels Tensors, which have it, but rules hand them bare TensorInfos.
 */
const READS_RANK = new Set(['Dilation2DBackpropInput', 'Dilation2DBackpropFilter']);
const withRank = (inputs: tf.NamedTensorInfoMap): tf.NamedTensorInfoMap =>
  Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t && ({ ...t, rank: t.shape.length } as tf.TensorInfo)]));

/** A tfjs backend that runs its work on the kernels of `inner` (the base of {@link VmapBackend}). */
export abstract class InnerBackend extends tf.KernelBackend {
  constructor(
    readonly name: string,
    readonly innerName: string,
    readonly inner: tf.KernelBackend,
  ) {
    super();
  }

  /**
   * Runs an inner kernel; the caller owns one reference to each output. Some cpu kernels return
   * engine-tracked Tensors (their `makeOutput`), which the current tidy scope would free under us:
   * those are turned into plain TensorInfos holding a reference of our own.
   */
  callInner(kernel: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo | tf.TensorInfo[] {
    const k = tf.getKernel(kernel, this.innerName);
    if (!k) throw new BatchingRuleError(kernel, `vectorized: backend '${this.innerName}' has no kernel '${kernel}'`);
    const out = k.kernelFunc({ inputs: READS_RANK.has(kernel) ? withRank(inputs) : inputs, backend: this.inner, attrs });
    const detach = (o: tf.TensorInfo): tf.TensorInfo => {
      if (!(o instanceof tf.Tensor)) return o;
      this.inner.incRef(o.dataId);
      o.dispose();
      return { dataId: o.dataId, shape: o.shape, dtype: o.dtype };
    };
    return Array.isArray(out) ? out.map(detach) : detach(out);
  }

  /** Drops one reference to inner data; when that frees it, also forgets the engine's record of it
   * (left behind when {@link callInner} detached an engine tensor). */
  release(dataId: tf.DataId): void {
    if (this.inner.disposeData(dataId)) engine().removeDataId(dataId, this.inner);
  }

  /**
   * The wasm backend's readSync copies the tensor out of the wasm heap into a fresh array; for per-sample
   * gradients of a large model that is a big extra allocation per chunk. A view on the heap, used at
   * once, avoids it. Returns null (use readSync) if the inner backend is not laid out like that.
   */
  heapView(info: tf.TensorInfo): Float32Array | null {
    const be = this.inner as unknown as { wasm?: { HEAPU8?: Uint8Array }; dataIdMap?: { get(id: tf.DataId): { memoryOffset?: number } | undefined } };
    const heap = be.wasm?.HEAPU8;
    const offset = be.dataIdMap?.get(info.dataId)?.memoryOffset;
    if (info.dtype !== 'float32' || !heap || typeof offset !== 'number') return null;
    return new Float32Array(heap.buffer, heap.byteOffset + offset, tf.util.sizeFromShape(info.shape));
  }

  override memory(): { unreliable: boolean; reasons?: string[] } {
    return { unreliable: true, reasons: [`vectorized backend over '${this.innerName}'`] };
  }

  override floatPrecision(): 16 | 32 {
    return this.inner.floatPrecision();
  }

  override timerAvailable(): boolean {
    return false;
  }

  override async time(f: () => void): Promise<tf.BackendTimingInfo> {
    const t0 = performance.now();
    f();
    return { kernelMs: performance.now() - t0 };
  }
}

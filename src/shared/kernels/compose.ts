/**
 * Building a wasm kernel out of other wasm kernels, the way tfjs-backend-cpu and -wasm kernels call
 * each other (wasm's Reverse calls its Reshape, cpu's UnsortedSegmentSum calls Equal, Multiply, Sum):
 * each step calls a kernel function registered for 'wasm' directly, bypassing the engine. Nothing is
 * taped or tracked then, so the {@link Composer} disposes every intermediate itself, also when a step
 * throws; the composed kernel is what the engine sees and records.
 */
import * as tf from '@tensorflow/tfjs';

export const WASM = 'wasm';

/** The part of tfjs-backend-wasm's BackendWasm that JavaScript kernels use (its own JS kernels do too). */
interface WasmHeap {
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
}

/** The steps of one composed kernel call on `backend` and the intermediates they leave. */
export class Composer {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(readonly backend: tf.KernelBackend) {}

  /** Runs wasm's kernel `name`; its output is disposed with the composite unless returned by it. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const config = tf.getKernel(name, WASM);
    if (!config) throw new Error(`wasm gradient kernels: the wasm backend has no '${name}' kernel to build on`);
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      this.temps.push(...out);
      throw new Error(`wasm gradient kernels: '${name}' returned ${out.length} outputs where one was expected`);
    }
    this.temps.push(out);
    return out;
  }

  /** A tensor holding `values`, written through the interface every KernelBackend has. */
  constant(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.TensorInfo {
    const out = { dataId: this.backend.write(values, shape, dtype), shape, dtype };
    this.temps.push(out);
    return out;
  }

  /**
   * A new wasm tensor of `shape` and a float32 view of its heap memory, zero-filled unless the kernel
   * writes every value (`zero` false: filling a 14 MB output costs ~1 ms), for kernels written in
   * JavaScript or SIMD. Views of inputs must be taken after this: allocating may grow the heap.
   */
  heapOutput(shape: number[], zero = true): { info: tf.TensorInfo; values: Float32Array } {
    const be = this.backend as unknown as WasmHeap;
    const info = { dataId: this.backend.write(null as unknown as tf.backend_util.BackendValues, shape, 'float32'), shape, dtype: 'float32' as const };
    this.temps.push(info);
    const values = be.typedArrayFromHeap(info) as Float32Array;
    if (zero) values.fill(0);
    return { info, values };
  }

  /** The float32 values of wasm tensor `x`, read in place on the heap (no copy). */
  heapView(x: tf.TensorInfo): Float32Array {
    if (x.dtype !== 'float32') throw new Error(`wasm gradient kernels: expected a float32 tensor, got ${x.dtype}`);
    return (this.backend as unknown as WasmHeap).typedArrayFromHeap(x) as Float32Array;
  }

  /** The byte offset of wasm tensor `x` in the wasm memory, for kernels of src/shared/kernels/simd.ts. */
  heapOffset(x: tf.TensorInfo): number {
    return (this.backend as unknown as WasmHeap).dataIdMap.get(x.dataId).memoryOffset;
  }

  /** `x` reshaped (no copy: wasm's Reshape shares the buffer); `x` itself when the shape is unchanged. */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return tf.util.arraysEqual(x.shape, shape) ? x : this.run('Reshape', { x }, { shape });
  }

  /**
   * `x` with its axes permuted; a reshape (no copy) when only length-1 axes move, which is what the
   * samples-into-channels folds do to a single image: wasm's Transpose copies even then (~2 ms for a
   * [1, 26, 26, 2048] filter gradient operand).
   */
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    const moved = perm.filter((p) => x.shape[p] !== 1);
    if (moved.every((p, i) => i === 0 || p > moved[i - 1]!)) return this.reshape(x, perm.map((p) => x.shape[p]!));
    return this.run('Transpose', { x }, { perm });
  }

  /** The block of `x` at `begin` of extent `size`; `x` itself when that is all of it. */
  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    return begin.every((b) => b === 0) && tf.util.arraysEqual(x.shape, size) ? x : this.run('Slice', { x }, { begin, size });
  }

  /** Sum over `axis`, dropping it; a reshape when that axis has length 1. */
  sumAxis(x: tf.TensorInfo, axis: number): tf.TensorInfo {
    if (x.shape[axis] === 1) return this.reshape(x, x.shape.filter((_, i) => i !== axis));
    return this.run('Sum', { x }, { axis: [axis], keepDims: false });
  }

  /**
   * Disposes every intermediate but `result` and returns `result`, copied if it is not an
   * intermediate (an input passed through must not be handed to the engine as a new output).
   * Disposing goes per TensorInfo, so buffers shared through reshapes are released by their refcount.
   */
  finish(result: tf.TensorInfo | undefined): tf.TensorInfo | undefined {
    let out = result;
    try {
      if (result && !this.temps.includes(result)) out = this.run('Identity', { x: result });
    } finally {
      for (const t of this.temps) if (t !== out) this.backend.disposeData(t.dataId);
      this.temps.length = 0;
    }
    return out;
  }
}

/** The shape of a reduction of `shape` over `axes`: those axes dropped, or kept as 1 with `keepDims`. */
export const reducedShape = (shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] =>
  shape.flatMap((d, i) => (!axes.includes(i) ? [d] : keepDims ? [1] : []));

/**
 * A new float32 wasm tensor of `shape`, every value written by `write` (given a Composer for heap
 * offsets and the tensor's own offset): how the wrappers of wasm kernels run a SIMD kernel. Nothing is
 * left behind if `write` throws.
 */
export function heapKernel(backend: tf.KernelBackend, shape: number[], write: (c: Composer, outOffset: number) => void): tf.TensorInfo {
  const c = new Composer(backend);
  let out: tf.TensorInfo | undefined;
  try {
    out = c.heapOutput(shape, false).info;
    write(c, c.heapOffset(out));
  } finally {
    out = c.finish(out);
  }
  return out!;
}

/**
 * A wrapper of one of wasm's own kernels: `fast` computes the cases it takes (the same bits as wasm's
 * kernel) and returns null for every other call, which `original` (wasm's) then runs.
 */
export function wrapKernel(original: tf.KernelConfig, fast: (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | null): tf.KernelConfig {
  return { ...original, kernelFunc: (args) => fast(args) ?? original.kernelFunc(args) };
}

export type CompositeBody = (c: Composer, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.TensorInfo;

/** The config registering `body` as wasm's kernel `kernelName`. */
export function composite(kernelName: string, body: CompositeBody): tf.KernelConfig {
  return {
    kernelName,
    backendName: WASM,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const c = new Composer(backend as tf.KernelBackend);
      let result: tf.TensorInfo | undefined;
      try {
        result = body(c, inputs, attrs ?? {});
      } finally {
        // On a throw, result is undefined and every intermediate goes.
        result = c.finish(result);
      }
      return result!;
    },
  };
}

/**
 * Batching-level values and the small helpers over them and over per-sample shapes. This module is
 * the bottom of the folder's import graph: the backend, the kernel scope (context.ts) and the rules
 * all build on it and it imports none of them.
 *
 * Convention: a batched value always carries the batch on axis 0 (JAX's bdim is always 0 here), so a
 * rule's job is to shift the kernel's axes by one and keep the batch axis from mixing with per-sample
 * axes.
 */
import type * as tf from '@tensorflow/tfjs';

/** A batching-level value: an inner-backend tensor plus whether its leading axis is the batch. */
export interface BVal {
  /** Inner-backend tensor; its shape is `[n, ...perSampleShape]` when batched. */
  readonly info: tf.TensorInfo;
  readonly batched: boolean;
  /** Set on a not-yet-computed outer product (see {@link LazyOuter}, {@link LazyGhost}); `info` is then a placeholder. */
  readonly lazy?: LazyOuter | LazyGhost;
}

/**
 * A batch of outer products `a_i ⊗ b_i` (rows of `a` [n, M] and `b` [n, P]) kept unmultiplied. It is
 * what a dense layer's per-sample weight gradient is. When training needs only the SUM over the batch,
 * `batchSum` turns it into one GEMM `aᵀ·b` without ever writing the n × M × P per-sample values; any
 * other use multiplies it out first, so it is always safe.
 */
export interface LazyOuter {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  /** Batched shape of the product: `[n, M, P]`. */
  shape: number[];
}

/**
 * A dense layer's per-sample weight gradient over T positions, Σ_t a_tᵀ b_t, kept as its operands
 * `a` [n, T, M] and `b` [n, T, P] (ghost clipping, Li et al. 2021 §4): its norm² is ⟨AAᵀ, BBᵀ⟩
 * and the clipped sum one GEMM over the stacked n·T rows. `shape` is the batched shape the engine
 * sees (n·M·P values in row-major [M, P] order; a Reshape keeps it lazy with another shape).
 */
export interface LazyGram {
  kind: 'gram';
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  shape: number[];
}

/**
 * An embedding table's per-sample gradient, Σ_t e_{ids_t} ⊗ values_t, kept as the token ids `ids`
 * [n, T] (int32) and the output gradients `values` [n, T, D]: never the [n, V, D] tensor. `shape` is
 * the batched shape the engine sees ([n, V, D] in row-major order).
 */
export interface LazyScatter {
  kind: 'scatter';
  ids: tf.TensorInfo;
  values: tf.TensorInfo;
  segments: number;
  shape: number[];
}

/** The lazy per-sample gradients of ghost clipping (made only while `VmapBackend.ghost` is on). */
export type LazyGhost = LazyGram | LazyScatter;

/** The inner data a lazy value holds (one reference each). */
export const lazyOperands = (l: LazyOuter | LazyGhost): tf.TensorInfo[] => (!('kind' in l) || l.kind === 'gram' ? [l.a, l.b] : [l.ids, l.values]);

/**
 * Mixed ghost clipping's cost rule (Bu et al. 2022): a weight gradient over T positions keeps its
 * Gram form (T² values per sample for each operand) only when 2T² < M·P, the size of the per-sample
 * gradient it replaces; otherwise the per-sample gradient is the cheaper way to its norm.
 */
export const gramPays = (T: number, M: number, P: number): boolean => 2 * T * T < M * P;

/** Kernel inputs at the batching level: named (most kernels) or a list (Concat, Pack, AddN). */
export type BInputs = { [name: string]: BVal | undefined } | BVal[];
/** One output, or a list for kernels whose inner kernel returns a list (Unpack, SplitV, TopK). */
export type Outs<T> = T | T[];

/** The defined inputs, in order. */
export function inputList(inputs: BInputs): BVal[] {
  return (Array.isArray(inputs) ? inputs : Object.values(inputs)).filter((v): v is BVal => v != null);
}

/** Maps inputs to inner TensorInfos, keeping the container shape (list or named) the kernel expects. */
export function mapInputs(inputs: BInputs, f: (v: BVal) => tf.TensorInfo): tf.NamedTensorInfoMap {
  if (Array.isArray(inputs)) return inputs.map(f) as unknown as tf.NamedTensorInfoMap;
  const out: tf.NamedTensorInfoMap = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = v == null ? undefined : f(v);
  return out;
}

export const mapOuts = <A, B>(o: Outs<A>, f: (a: A) => B): Outs<B> => (Array.isArray(o) ? o.map(f) : f(o));
export const asList = <A>(o: Outs<A>): A[] => (Array.isArray(o) ? o : [o]);

/** Per-sample shape of a batching-level value. */
export const shapeOf = (v: BVal): number[] => (v.batched ? v.info.shape.slice(1) : v.info.shape.slice());

/** Normalises a possibly negative axis of a rank-`rank` per-sample tensor. */
export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** Per-sample axes -> batched axes. `null`/`undefined` means "all axes" (tfjs reductions' default). */
export function shiftAxes(axes: unknown, rank: number): number | number[] {
  if (axes == null) return Array.from({ length: rank }, (_, i) => i + 1);
  if (typeof axes === 'number') return normAxis(axes, rank) + 1;
  return (axes as number[]).map((a) => normAxis(a, rank) + 1);
}

/** The numpy broadcast of several shapes (the per-sample result shape of a broadcasting kernel). */
export function broadcastShapes(shapes: number[][]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes)
    s.forEach((d, i) => {
      const j = rank - s.length + i;
      if (d !== 1) out[j] = d;
    });
  return out;
}

/**
 * The inner-backend work behind lazy values (values.ts's {@link LazyOuter} and {@link LazyGhost}):
 * multiplying one out into the per-sample tensor it stands for, the batch sum of a lazy outer
 * product as one GEMM, the one-hot matmul an embedding gradient is, and which view kernels keep a
 * ghost value lazy. backend.ts decides when; this module only computes.
 */
import * as tf from '@tensorflow/tfjs';
import type { InnerBackend } from './inner.js';
import { lazyOperands, type LazyGhost, type LazyOuter } from './values.js';
import { OUTER_SUM, outerSumFits } from '../kernels/outer-sum.js';

/**
 * The per-sample tensor lazy value `l` stands for, as inner data the caller owns; releases the one
 * reference `l` holds to each operand.
 */
export function multiplyOut(be: InnerBackend, l: LazyOuter | LazyGhost): tf.TensorInfo {
  if ('kind' in l) {
    const prod = l.kind === 'gram' ? gramProduct(be, l.a, l.b) : segmentSumByOneHot(be, l.ids, l.values, l.segments);
    for (const o of lazyOperands(l)) be.release(o.dataId);
    return { ...prod, shape: l.shape };
  }
  const [n, M, P] = l.shape as [number, number, number];
  const a = { ...l.a, shape: [n, M, 1] };
  const b = { ...l.b, shape: [n, 1, P] };
  const prod = (be.innerName === 'wasm' ? be.callInner('Multiply', { a, b }, {}) : be.callInner('BatchMatMul', { a, b }, { transposeA: false, transposeB: false })) as tf.TensorInfo;
  be.release(l.a.dataId);
  be.release(l.b.dataId);
  return prod;
}

/** a [n, T, M], b [n, T, P] -> aᵢᵀ·bᵢ [n, M, P] (a materialised {@link LazyGram}). */
function gramProduct(be: InnerBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  return be.callInner('BatchMatMul', { a, b }, { transposeA: true, transposeB: false }) as tf.TensorInfo;
}

/**
 * Σ_t onehot(idsᵢ_t) ⊗ valuesᵢ_t: ids [n, k] (int32), values [n, k, R] -> [n, V, R], one batched
 * matmul (what UnsortedSegmentSum with per-sample ids is; negative ids drop out, as in the kernel).
 * The caller owns the result.
 */
export function segmentSumByOneHot(be: InnerBackend, ids: tf.TensorInfo, values: tf.TensorInfo, V: number): tf.TensorInfo {
  // OneHot in int32, then a Cast: tfjs-wasm's OneHot writes int32 bits whatever dtype it is asked for.
  const hotInt = be.callInner('OneHot', { indices: ids }, { depth: V, onValue: 1, offValue: 0, dtype: 'int32' }) as tf.TensorInfo;
  let hot: tf.TensorInfo | null = null;
  try {
    hot = be.callInner('Cast', { x: hotInt }, { dtype: values.dtype }) as tf.TensorInfo;
    return be.callInner('BatchMatMul', { a: hot, b: values }, { transposeA: true, transposeB: false }) as tf.TensorInfo;
  } finally {
    be.release(hotInt.dataId);
    if (hot) be.release(hot.dataId);
  }
}

/**
 * Σᵢ aᵢ ⊗ bᵢ of lazy outer product `l` as one GEMM aᵀ·b, as inner data of per-sample shape `shape`
 * (the caller owns it; `l` keeps its operands).
 */
export function sumOuter(be: InnerBackend, l: LazyOuter, shape: number[]): tf.TensorInfo {
  const [n, M, P] = l.shape as [number, number, number];
  const a = { ...l.a, shape: [n, M] };
  const b = { ...l.b, shape: [n, P] };
  // A narrow b on wasm: one kernel reading a in place, with the bits of the transpose and GEMM below.
  if (tf.getKernel(OUTER_SUM, be.innerName) && outerSumFits(be.inner, a, b)) return { ...(be.callInner(OUTER_SUM, { a, b }, {}) as tf.TensorInfo), shape };
  // aᵀ·b with an explicit transpose: tfjs-wasm's transposeA GEMM is ~2× slower than transpose + GEMM.
  const aT = be.callInner('Transpose', { x: a }, { perm: [1, 0] }) as tf.TensorInfo;
  try {
    const out = be.callInner('BatchMatMul', { a: aT, b }, { transposeA: false, transposeB: false }) as tf.TensorInfo;
    return { ...out, shape };
  } finally {
    be.release(aT.dataId);
  }
}

/**
 * The per-sample shape a view-like kernel (Identity, Reshape, same-dtype Cast, an identity
 * Transpose) gives a lazy ghost value of per-sample shape `perSample`, or null for any other kernel:
 * the value's data order is row-major either way, so such a view is the same lazy value.
 */
export function viewShape(kernel: string, attrs: tf.NamedAttrMap, perSample: number[]): number[] | null {
  if (kernel === 'Identity' || (kernel === 'Cast' && attrs.dtype === 'float32')) return perSample;
  if (kernel === 'Reshape') return tf.util.inferFromImplicitShape((attrs.shape as number[]).slice(), tf.util.sizeFromShape(perSample));
  if (kernel === 'Transpose' && (attrs.perm as number[]).every((p, i) => p === i)) return perSample;
  return null;
}

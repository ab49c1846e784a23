/**
 * BatchMatMul on wasm, wrapped for two shapes of plain product (batch dims of 1, no transposes,
 * float32) where XNNPACK's tiles are far from their speed, each with wasm's bits (see each kernel's
 * file): a matrix times a vector, [n, K] x [K, 1] (matvec.ts), and a short inner dimension,
 * [M, K] x [K, N] with K ≤ 16 and N a multiple of 4 (short-matmul.ts). Anything else (transposes,
 * batches, longer products) runs wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { heapKernel, wrapKernel } from './compose.js';
import { matVecKernel } from './matvec.js';
import { SHORT_K, shortMatMulKernel } from './short-matmul.js';
import { wasmMemory } from './simd.js';

/** [M, K, N] when a is [...1, M, K] and b [...1, K, N] of the same rank, float32, no transposes. */
function plainProduct(a: tf.TensorInfo, b: tf.TensorInfo, attrs: tf.NamedAttrMap): [number, number, number] | null {
  const r = a.shape.length;
  if (attrs.transposeA || attrs.transposeB || r < 2 || b.shape.length !== r || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (![...a.shape.slice(0, -2), ...b.shape.slice(0, -2)].every((d) => d === 1)) return null;
  const [M, K] = a.shape.slice(-2) as [number, number];
  return b.shape[r - 2] === K && K > 0 ? [M, K, b.shape[r - 1]!] : null;
}

/** The config that runs those two products in WebAssembly and every other BatchMatMul as `original` (wasm's). */
export function wrapBatchMatMul(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const dims = plainProduct(a, b, args.attrs ?? {});
    if (!dims) return null;
    const [M, K, N] = dims;
    const backend = args.backend as tf.KernelBackend;
    const shape = [...a.shape.slice(0, -1), N];
    if (N === 1) {
      const k = matVecKernel(wasmMemory(backend));
      return k && heapKernel(backend, shape, (c, out) => k.matVecRows(c.heapOffset(a), c.heapOffset(b), out, M, K));
    }
    const k = K <= SHORT_K && N % 4 === 0 ? shortMatMulKernel(wasmMemory(backend)) : null;
    return k && heapKernel(backend, shape, (c, out) => k.shortMatMul(c.heapOffset(a), c.heapOffset(b), out, M, K, N));
  });
}

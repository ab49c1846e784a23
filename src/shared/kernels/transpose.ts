/**
 * Transpose on wasm, wrapped for permutations that swap two blocks of axes in front of a trailing
 * block of float32 values — [A, B, C] -> [B, A, C] once length-1 axes are dropped and adjacent axes
 * merged. With C a multiple of 4, how the per-sample filter gradient moves samples into channels
 * ([n, OH, OW, CO] -> [OH, OW, n, CO]) and back: swapRows (simd.ts) copies whole rows 16 bytes at a
 * time, where tfjs-wasm's kernel moves every value on its own (~1.6 ms for a [128, 26, 26, 16] dy).
 * With C = 1, a matrix transpose (a dense layer's activations before its weight gradient's GEMM,
 * lazy.ts's sumOuter): four by four values at a time (transpose-tiles.ts) where A and B are
 * multiples of 4. Copies, so the bits are the same. Anything else runs wasm's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { heapKernel, wrapKernel } from './compose.js';
import { simdKernels, wasmMemory } from './simd.js';
import { transposeTiles } from './transpose-tiles.js';

/** [A, B, C] when `perm` of `shape` is such a block swap (C = 1 for a matrix transpose), else null. */
export function blockSwap(shape: number[], perm: number[]): [number, number, number] | null {
  // Runs of input axes that stay adjacent in the output (length-1 axes do not count), in output order.
  const runs: number[][] = [];
  for (const p of perm.filter((a) => shape[a] !== 1)) {
    const run = runs[runs.length - 1];
    if (run && p === run[run.length - 1]! + 1) run.push(p);
    else runs.push([p]);
  }
  const size = (run: number[]) => run.reduce((s, a) => s * shape[a]!, 1);
  if (runs.length === 2 && runs[1]![0]! < runs[0]![0]!) return [size(runs[1]!), size(runs[0]!), 1];
  if (runs.length !== 3 || !(runs[1]![0]! < runs[0]![0]! && runs[0]![0]! < runs[2]![0]!)) return null;
  return [size(runs[1]!), size(runs[0]!), size(runs[2]!)];
}

/** The config that runs block swaps with SIMD and every other Transpose as `original` (wasm's). */
export function wrapTranspose(original: tf.KernelConfig): tf.KernelConfig {
  return wrapKernel(original, (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { perm } = args.attrs as unknown as tf.TransposeAttrs;
    const swap = x.dtype === 'float32' ? blockSwap(x.shape, perm) : null;
    if (!swap) return null;
    const [A, B, C] = swap;
    const backend = args.backend as tf.KernelBackend;
    const shape = perm.map((p) => x.shape[p]!);
    if (C === 1) {
      const tiles = A % 4 === 0 && B % 4 === 0 ? transposeTiles(wasmMemory(backend)) : null;
      return tiles && heapKernel(backend, shape, (c, out) => tiles.transpose4(c.heapOffset(x), out, A, B));
    }
    const simd = C % 4 === 0 ? simdKernels(backend) : null;
    return simd && heapKernel(backend, shape, (c, out) => simd.swapRows(c.heapOffset(x), out, A, B, C));
  });
}

/**
 * The batch sum of per-sample outer products, Σᵢ aᵢ ⊗ bᵢ = aᵀ·b for a [n, M] and b [n, P]: a dense
 * layer's weight gradient summed over a chunk (src/shared/batching/lazy.ts `sumOuter`), e.g. a conv
 * net's [32, 2704]ᵀ x [32, 10] in every chunk of a training step. wasm's route is a Transpose of a
 * then XNNPACK's product, whose 8-wide tiles idle 6 lanes of 16 at P = 10 (0.34 ms for that product
 * here, the transpose included). This reads a in place, four rows of the output (four a columns,
 * contiguous in a's rows) at a time, 8, 4 or 2 output columns per block, each b[k, p] splat once.
 *
 * Same bits: XNNPACK sums each output from +0, adding the float32 products aᵀ[m, k]·b[k, p] for
 * k = 0, 1, … in order, each product and sum rounded to float32 (no fused multiply-add in WebAssembly
 * SIMD); so does this. Tested bit for bit against wasm's transpose and product. Taken where M is a
 * multiple of 4 and P even and at most {@link OUTER_SUM_MAX_P}: beyond that XNNPACK's tiles are as
 * fast, and a lone column's one chain of n dependent adds made an odd P no faster than wasm (measured).
 */
import type * as tf from '@tensorflow/tfjs';
import { WASM, heapKernel } from './compose.js';
import { wasmMemory } from './simd.js';
import { ADD, BLOCK, BR, BR_IF, END, EQ, EQZ, F32_ADD, F32_MUL, get, I32, I32T, importedMemoryKernel, loadAt, LOOP, oneKernelModule, set, SHL, simd, SUB, V128T, VOID } from '../wasm-encode.js';

/** gradpool's kernel name: inputs `a` [n, M] and `b` [n, P], float32; output aᵀ·b [M, P]. */
export const OUTER_SUM = 'GradpoolOuterSum';

/** The widest b taken: at 16 columns this gained 7–25% over wasm's route (measured on [32, 2704] and [32, 784]), and XNNPACK's 8-wide tiles fill up beyond. */
export const OUTER_SUM_MAX_P = 16;

const [F32_STORE, LT_S] = [0x38, 0x48];
const splatAt = (off: number) => simd(0x09, 2, off); // v128.load32_splat
const lane = (l: number) => simd(0x1f, l); // f32x4.extract_lane
// outerSum(a, b, out, n, M, P). Locals: i32 6 mb (a's row bytes), 7 pb4 (b's and out's row bytes),
// 8 mo (byte offset of the four a columns), 9 orow (out's first row of the four), 10 pj (byte offset
// of the block's first column), 11 pa, 12 pbk (a[k, m], b[k, pj]), 13 kc (products left),
// 14 pb8 (2·pb4), 15 pb12 (3·pb4); v128 16 a[k, m..m+3], 17-24 the sums.
const [A, B, OUT, N, M, P, MB, PB4, MO, OROW, PJ, PA, PBK, KC, PB8, PB12, AV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SUMS = [17, 18, 19, 20, 21, 22, 23, 24];
const ROW = [[], [...get(PB4), ADD], [...get(PB8), ADD], [...get(PB12), ADD]];
/** Blocks of `width` (8, 4 or 2) output columns while that many are left: the sums from +0, n products each, stored. */
const blocks = (width: number) => [
  BLOCK, VOID, LOOP, VOID,
  ...get(PB4), ...get(PJ), SUB, I32, 4 * width, LT_S, BR_IF, 1,
  ...SUMS.slice(0, width).flatMap((s) => [...simd(0x0c, ...new Array<number>(16).fill(0)), ...set(s)]),
  ...get(A), ...get(MO), ADD, ...set(PA), ...get(B), ...get(PJ), ADD, ...set(PBK), ...get(N), ...set(KC),
  BLOCK, VOID, LOOP, VOID,
  ...get(KC), EQZ, BR_IF, 1,
  ...get(PA), ...loadAt(0), ...set(AV),
  ...SUMS.slice(0, width).flatMap((s, j) => [...get(s), ...get(AV), ...get(PBK), ...splatAt(4 * j), ...F32_MUL, ...F32_ADD, ...set(s)]),
  ...get(PA), ...get(MB), ADD, ...set(PA), ...get(PBK), ...get(PB4), ADD, ...set(PBK),
  ...get(KC), I32, 1, SUB, ...set(KC), BR, 0,
  END, END,
  // Sum j holds out[m + l, pj/4 + j] in lane l.
  ...SUMS.slice(0, width).flatMap((s, j) => ROW.flatMap((row, l) => [...get(OROW), ...row, ...get(PJ), ADD, ...get(s), ...lane(l), F32_STORE, 2, 4 * j])),
  ...get(PJ), I32, 4 * width, ADD, ...set(PJ), BR, 0,
  END, END,
];
const body = [
  ...get(M), I32, 2, SHL, ...set(MB), ...get(P), I32, 2, SHL, ...set(PB4),
  ...get(PB4), I32, 1, SHL, ...set(PB8), ...get(PB8), ...get(PB4), ADD, ...set(PB12),
  I32, 0, ...set(MO), ...get(OUT), ...set(OROW),
  BLOCK, VOID, LOOP, VOID,
  ...get(MO), ...get(MB), EQ, BR_IF, 1,
  I32, 0, ...set(PJ),
  ...blocks(8), ...blocks(4), ...blocks(2),
  ...get(MO), I32, 16, ADD, ...set(MO), ...get(OROW), ...get(PB4), I32, 2, SHL, ADD, ...set(OROW),
  BR, 0, END, END, END,
];
const MODULE = oneKernelModule('outerSum', 6, [[10, I32T], [9, V128T]], body);

/** The kernel bound to a wasm memory (tfjs-backend-wasm's: simd.ts's `wasmMemory`), or null without WebAssembly SIMD. */
export const outerSumKernel = importedMemoryKernel<{ outerSum(a: number, b: number, out: number, n: number, M: number, P: number): void }>(MODULE);

/** Whether {@link OUTER_SUM} takes a [n, M] and b [n, P] on `backend`. */
export function outerSumFits(backend: tf.KernelBackend, a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const [n, M] = a.shape as [number, number];
  const P = b.shape[1]!;
  return a.shape.length === 2 && b.shape.length === 2 && b.shape[0] === n && n > 0 && M % 4 === 0 && P % 2 === 0 && P >= 2 && P <= OUTER_SUM_MAX_P
    && a.dtype === 'float32' && b.dtype === 'float32' && outerSumKernel(wasmMemory(backend)) !== null;
}

export const outerSumConfig: tf.KernelConfig = {
  kernelName: OUTER_SUM,
  backendName: WASM,
  kernelFunc: ({ inputs, backend }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const be = backend as tf.KernelBackend;
    if (!outerSumFits(be, a, b)) throw new Error(`${OUTER_SUM}: expected float32 a [n, M] and b [n, P] with M a multiple of 4 and P even, 2 ≤ P ≤ ${OUTER_SUM_MAX_P}, got ${a.dtype}[${a.shape}] and ${b.dtype}[${b.shape}]`);
    const [n, M] = a.shape as [number, number];
    const P = b.shape[1]!;
    const k = outerSumKernel(wasmMemory(be))!;
    return heapKernel(be, [M, P], (c, out) => k.outerSum(c.heapOffset(a), c.heapOffset(b), out, n, M, P));
  },
};

/**
 * BatchMatMul on wasm for a product with a short inner dimension, [M, K] x [K, N] with K ≤ 16 and N a
 * multiple of 4 (batch dims of 1, no transposes): a dense layer's input gradient dy·Wᵀ when the layer
 * has few units, e.g. a conv net's [32, 10] x [10, 2704] in every chunk. XNNPACK's tiles then spend
 * more time on their set-up than on the ten multiply-adds of each output (0.17 ms for that product
 * here); this walks each output row four vectors at a time, every a[i, k] splat once per block.
 *
 * Same bits: XNNPACK sums each output from +0, adding the float32 products a[i, k]·b[k, n] for
 * k = 0, 1, … in order, each product and sum rounded to float32 (no fused multiply-add in WebAssembly
 * SIMD); so does this. Tested bit for bit against wasm's own kernel. Anything else runs wasm's.
 */
import { ADD, BLOCK, BR, BR_IF, END, EQZ, F32_ADD, F32_MUL, F32_SPLAT, get, I32, I32T, importedMemoryKernel, loadAt, LOOP, oneKernelModule, set, SHL, simd, storeAt, SUB, V128T, VOID } from '../wasm-encode.js';

/** The longest inner dimension taken: beyond it XNNPACK's tiles pay off. */
export const SHORT_K = 16;

const F32_LOAD = [0x2a, 2, 0];
const I32_GT_S = 0x4a;
// shortMatMul(a, b, out, M, K, N). Locals: 6 nb (N bytes), 7 n (byte offset in the row), 8 pa (a[i, k]),
// 9 pb (b[k, n]), 10 k (products left), 11 last (nb − 64); v128 12 the splat, 13-16 the sums.
const [A, B, OUT, M, K, N, NB, NI, PA, PB, KC, LAST, AV] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const SUMS = [13, 14, 15, 16];
/** Blocks of `vectors` (4 or 1) sums across the row while they fit: from +0, K products each, stored. */
const blocks = (vectors: number) => [
  BLOCK, VOID, LOOP, VOID,
  ...get(NI), ...(vectors === 4 ? get(LAST) : [...get(NB), I32, 16, SUB]), I32_GT_S, BR_IF, 1,
  ...SUMS.slice(0, vectors).flatMap((s) => [...simd(0x0c, ...new Array<number>(16).fill(0)), ...set(s)]),
  ...get(A), ...set(PA), ...get(B), ...get(NI), ADD, ...set(PB), ...get(K), ...set(KC),
  BLOCK, VOID, LOOP, VOID,
  ...get(KC), EQZ, BR_IF, 1,
  ...get(PA), ...F32_LOAD, ...F32_SPLAT, ...set(AV),
  ...SUMS.slice(0, vectors).flatMap((s, j) => [...get(s), ...get(AV), ...get(PB), ...loadAt(16 * j), ...F32_MUL, ...F32_ADD, ...set(s)]),
  ...get(PA), I32, 4, ADD, ...set(PA), ...get(PB), ...get(NB), ADD, ...set(PB),
  ...get(KC), I32, 1, SUB, ...set(KC), BR, 0,
  END, END,
  ...SUMS.slice(0, vectors).flatMap((s, j) => [...get(OUT), ...get(NI), ADD, ...get(s), ...storeAt(16 * j)]),
  // i32.const takes a signed LEB128: 64 is 0xc0 0x00 (a lone 64 byte would read as -64).
  ...get(NI), I32, ...(vectors === 4 ? [0xc0, 0x00] : [16]), ADD, ...set(NI), BR, 0,
  END, END,
];
const body = [
  ...get(N), I32, 2, SHL, ...set(NB), ...get(NB), I32, 0xc0, 0x00, SUB, ...set(LAST),
  BLOCK, VOID, LOOP, VOID,
  ...get(M), EQZ, BR_IF, 1,
  I32, 0, ...set(NI),
  ...blocks(4), ...blocks(1),
  ...get(A), ...get(K), I32, 2, SHL, ADD, ...set(A),
  ...get(OUT), ...get(NB), ADD, ...set(OUT),
  ...get(M), I32, 1, SUB, ...set(M), BR, 0,
  END, END, END,
];
const MODULE = oneKernelModule('shortMatMul', 6, [[6, I32T], [5, V128T]], body);

/** The kernel bound to a wasm memory (tfjs-backend-wasm's: simd.ts's `wasmMemory`), or null without WebAssembly SIMD. */
export const shortMatMulKernel = importedMemoryKernel<{ shortMatMul(a: number, b: number, out: number, M: number, K: number, N: number): void }>(MODULE);

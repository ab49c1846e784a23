/**
 * BatchMatMul on wasm for a matrix times a vector, [n, K] x [K, 1] (batch dims of 1; batch-matmul.ts
 * hands it those): the forward pass of a model with one output unit over a chunk, the seed
 * tensordot's [8192, 6] x [6, 1].
 * wasm hands it to XNNPACK's fully connected operator, whose 8-wide tiles leave 7 lanes of 8 idle at
 * one column: ~8 ns a row. matVecRows does each row as one float32 chain, four rows at a time.
 *
 * Same bits: XNNPACK (and wasm's slow path, for K up to its 48-wide blocks) sums each row from +0,
 * adding the float32 products a[r, k]·b[k] for k = 0, 1, … in order, each product and sum rounded to
 * float32; so does this. Tested bit for bit against wasm's own kernel, ±Infinity included; only a
 * NaN's sign and payload may differ (WebAssembly leaves them unspecified).
 */
import { ADD, BLOCK, BR, BR_IF, END, EQ, F32T, get, I32, I32T, importedMemoryKernel, LOOP, oneKernelModule, set, SHL, SUB, VOID } from '../wasm-encode.js';

const [F32_CONST, F32_LOAD, F32_STORE, F32_ADD, F32_MUL, LT_U] = [0x43, 0x2a, 0x38, 0x92, 0x94, 0x49];
// matVecRows(a, b, out, rows, K): out[r] = Σ_k a[r, k]·b[k], in order from +0. Four rows at a time
// (four independent chains sharing each b[k]: one row's chain alone waits on its adds), then the rest
// one by one. Locals: i32 5 kb (K bytes), 6 k, 7 p (a + k), 8 2·kb, 9 3·kb; f32 10-13 the sums, 14 b[k].
const [A, B, OUT, ROWS, K, KB, KI, PK, KB2, KB3, BK] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14];
const SUMS = [10, 11, 12, 13];
const ROW_AT = [[], [...get(KB), ADD], [...get(KB2), ADD], [...get(KB3), ADD]];
/** Rows of `lanes` (1 or 4) at a time while at least that many are left: the sums, the k loop, the stores. */
const rowGroups = (lanes: number) => [
  BLOCK, VOID, LOOP, VOID,
  ...get(ROWS), I32, lanes, LT_U, BR_IF, 1,
  ...SUMS.slice(0, lanes).flatMap((s) => [F32_CONST, 0, 0, 0, 0, ...set(s)]),
  I32, 0, ...set(KI),
  BLOCK, VOID, LOOP, VOID,
  ...get(KI), ...get(KB), EQ, BR_IF, 1,
  ...get(A), ...get(KI), ADD, ...set(PK), ...get(B), ...get(KI), ADD, F32_LOAD, 2, 0, ...set(BK),
  ...SUMS.slice(0, lanes).flatMap((s, j) => [...get(s), ...get(PK), ...ROW_AT[j]!, F32_LOAD, 2, 0, ...get(BK), F32_MUL, F32_ADD, ...set(s)]),
  ...get(KI), I32, 4, ADD, ...set(KI), BR, 0,
  END, END,
  ...SUMS.slice(0, lanes).flatMap((s, j) => [...get(OUT), ...get(s), F32_STORE, 2, 4 * j]),
  ...get(A), ...(lanes > 1 ? [...get(KB3), ...get(KB), ADD] : get(KB)), ADD, ...set(A),
  ...get(OUT), I32, 4 * lanes, ADD, ...set(OUT),
  ...get(ROWS), I32, lanes, SUB, ...set(ROWS),
  BR, 0, END, END,
];
const body = [
  ...get(K), I32, 2, SHL, ...set(KB), ...get(KB), I32, 1, SHL, ...set(KB2), ...get(KB2), ...get(KB), ADD, ...set(KB3),
  ...rowGroups(4), ...rowGroups(1), END,
];
const MODULE = oneKernelModule('matVecRows', 5, [[5, I32T], [5, F32T]], body);
/** The kernel bound to a wasm memory (tfjs-backend-wasm's: simd.ts's `wasmMemory`), or null without WebAssembly SIMD. */
export const matVecKernel = importedMemoryKernel<{ matVecRows(a: number, b: number, out: number, rows: number, K: number): void }>(MODULE);

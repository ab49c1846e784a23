/**
 * WebAssembly SIMD kernels running in tfjs-backend-wasm's own memory, for hot loops of a conv net's
 * backward pass that neither wasm's kernels nor JavaScript do fast: the 2x2, stride-2 max-pool gradient
 * (JavaScript on the heap takes ~7 ms for a [128, 26, 26, 16] input; this, four channels per
 * instruction and branch-free, ~1 ms), the bias gradient's sum over H and W (sum.ts) and a dense
 * layer's per-sample weight gradients, batched outer products (multiply.ts), transposes that move
 * whole rows of channels (transpose.ts), a bias add over channels (add.ts) and relu's gradient in one
 * pass (step-multiply.ts). The module is
 * a few hundred bytes, encoded below (no toolchain), and imports wasm's exported memory, so it reads
 * and writes tensors in place.
 *
 * pool2x2Row(x, g, dx, windows, channels, rowBytes): for `windows` adjacent whole 2x2 windows starting
 * at byte offset `x` (NHWC, `channels` a multiple of 4, `rowBytes` from one image row to the next),
 * writes dy (`g`, one row of the pool's output) to each window's FIRST maximum in `dx` and +0 to its
 * other three positions — tfjs-backend-cpu's rule: strictly greater than everything before it, from
 * -Infinity, so NaN never wins and an all -Infinity/NaN window passes nothing.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  ADD, AND, BLOCK, BR, BR_IF, code, END, EQ, EQZ, F32_ADD, F32_GT, F32_MUL, F32_SPLAT, get, HEADER, I32, I32T, LOOP, loadAt, name, section, set, SHL, simd, splatF, storeAt, SUB,
  importedMemoryKernel, V128T, vec, VOID,
} from '../wasm-encode.js';
import { poolWindowsBody, stepOf } from './pool-window.js';

// Opcodes used (core, then 0xfd-prefixed SIMD).
const LOAD = simd(0x00, 0, 0);
const STORE = simd(0x0b, 0, 0);
// pool2x2Row's parameters 0-5 as documented above; locals: 6 cb (channel bytes), 7 k (channel byte offset), 8 best, 9 idx, 10 gt, 11 v.
const [X, WIN, CH, CB, K] = [0, 3, 4, 6, 7];
const poolBody = poolWindowsBody({ X, G: 1, D: 2, WIN, CH, ROW: 5, CB, K, BEST: 8, IDX: 9, GT: 10, V: 11 });
// sumRows(x, out, outer, rows, channels, -): out[o, :] = sum over r < rows of x[o, r, :], for `outer`
// blocks of rows x channels floats (channels a multiple of 4), each lane adding its rows in order from
// +0, as wasm's own Sum does after moving the summed axes last (which costs it a full transpose).
// Locals: 6 cb, 7 k, 8 r, 9 p, 10 acc.
const [OUT, OUTER, ROWS, R, P, ACC] = [1, 2, 3, 8, 9, 10];
const I32_MUL = 0x6c;
const sumBody = [
  ...get(CH), I32, 2, SHL, ...set(CB),
  BLOCK, VOID, LOOP, VOID,
  ...get(OUTER), EQZ, BR_IF, 1,
  I32, 0, ...set(K),
  BLOCK, VOID, LOOP, VOID,
  ...get(K), ...get(CB), EQ, BR_IF, 1,
  ...splatF(0), ...set(ACC),
  ...get(X), ...get(K), ADD, ...set(P), ...get(ROWS), ...set(R),
  BLOCK, VOID, LOOP, VOID,
  ...get(R), EQZ, BR_IF, 1,
  ...get(ACC), ...get(P), ...LOAD, ...F32_ADD, ...set(ACC),
  ...get(P), ...get(CB), ADD, ...set(P),
  ...get(R), I32, 1, SUB, ...set(R),
  BR, 0, END, END,
  ...get(OUT), ...get(K), ADD, ...get(ACC), ...STORE,
  ...get(K), I32, 16, ADD, ...set(K), BR, 0,
  END, END,
  ...get(X), ...get(ROWS), ...get(CB), I32_MUL, ADD, ...set(X),
  ...get(OUT), ...get(CB), ADD, ...set(OUT),
  ...get(OUTER), I32, 1, SUB, ...set(OUTER),
  BR, 0, END, END, END,
];
// outerRows(a, b, out, rows, cols, -): out[m, :] = a[m] * b[:] for m < rows, and
// scaleRows(a, s, out, rows, cols, -): out[m, :] = a[m, :] * s[m] (the outer product with one column,
// a per-sample scale). cols >= 4 floats: each row in 4-float stores, the last one overlapping when cols
// is not a multiple of 4. Locals: 6 pb (row bytes), 7 q, 8 lastq, 9 the splat value.
const [A, BV, OPTR, COLS, PB, Q, LASTQ, AV] = [0, 1, 2, 4, 6, 7, 8, 9];
const F32_LOAD = [0x2a, 2, 0];
const I32_GT_S = 0x4a;
const addTo = (local: number, step: number[]) => [...get(local), ...step, ADD, ...set(local)];
/** The loop both share: per row, splat the float at `splatFrom`, store `product(q)` at out + q for each 16-byte q, then `advance`. */
const rowsBody = (splatFrom: number, product: (q: number) => number[], advance: number[]) => [
  ...get(COLS), I32, 2, SHL, ...set(PB), ...get(PB), I32, 16, SUB, ...set(LASTQ),
  BLOCK, VOID, LOOP, VOID,
  ...get(WIN), EQZ, BR_IF, 1,
  ...get(splatFrom), ...F32_LOAD, ...F32_SPLAT, ...set(AV),
  I32, 0, ...set(Q),
  BLOCK, VOID, LOOP, VOID,
  ...get(Q), ...get(LASTQ), I32_GT_S, BR_IF, 1,
  ...get(OPTR), ...get(Q), ADD, ...product(Q), ...STORE,
  ...get(Q), I32, 16, ADD, ...set(Q), BR, 0,
  END, END,
  BLOCK, VOID, ...get(Q), ...get(PB), EQ, BR_IF, 0, ...get(OPTR), ...get(LASTQ), ADD, ...product(LASTQ), ...STORE, END,
  ...advance,
  ...addTo(OPTR, get(PB)),
  ...get(WIN), I32, 1, SUB, ...set(WIN),
  BR, 0, END, END, END,
];
// a[m] * b[q..q+3] (splat first: wasm's Multiply computes a * b), and a[m, q..q+3] * s[m].
const outerBody = rowsBody(A, (q) => [...get(AV), ...get(BV), ...get(q), ADD, ...LOAD, ...F32_MUL], addTo(A, [I32, 4]));
const scaleBody = rowsBody(BV, (q) => [...get(A), ...get(q), ADD, ...LOAD, ...get(AV), ...F32_MUL], [...addTo(A, get(PB)), ...addTo(BV, [I32, 4])]);
// swapRows(x, out, A, B, floats, -): out[b, a, :] = x[a, b, :], rows of `floats` (a multiple of 4)
// values copied 16 bytes at a time. Locals: 6 cb, 7 k, 8 src, 9 a, 10 bi.
const [SOUT, SA, SB, SRC, SAC, BI] = [1, 2, 3, 8, 9, 10];
const swapBody = [
  ...get(CH), I32, 2, SHL, ...set(CB),
  I32, 0, ...set(BI),
  BLOCK, VOID, LOOP, VOID,
  ...get(BI), ...get(SB), EQ, BR_IF, 1,
  ...get(X), ...get(BI), ...get(CB), I32_MUL, ADD, ...set(SRC), ...get(SA), ...set(SAC),
  BLOCK, VOID, LOOP, VOID,
  ...get(SAC), EQZ, BR_IF, 1,
  I32, 0, ...set(K),
  BLOCK, VOID, LOOP, VOID,
  ...get(K), ...get(CB), EQ, BR_IF, 1,
  ...get(SOUT), ...get(K), ADD, ...get(SRC), ...get(K), ADD, ...LOAD, ...STORE,
  ...get(K), I32, 16, ADD, ...set(K), BR, 0,
  END, END,
  ...get(SOUT), ...get(CB), ADD, ...set(SOUT),
  ...get(SRC), ...get(SB), ...get(CB), I32_MUL, ADD, ...set(SRC),
  ...get(SAC), I32, 1, SUB, ...set(SAC),
  BR, 0, END, END,
  ...get(BI), I32, 1, ADD, ...set(BI),
  BR, 0, END, END, END,
];
// filterGradSample(x, dy, out, B, OH, OW, C, CO, rowStep, colStep, imgStep): one sample's filter
// gradient at one tap, out[c, co] = sum over b, oh, ow of x[b, oh, ow, c] * dy[b, oh, ow, co], where
// x points at the tap's first input and steps by the given byte strides (stride folded in), dy is
// [B, OH, OW, CO] and CO a multiple of 16 (four accumulators, the x value splat once for them).
const [FX, FDY, FOUT, FB, FOH, FOW, FC, FCO, FROW, FCOL, FIMG] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const [CI, CO_, BB, OHC, OWC, PX, PDY, PROW, COB, CEND, PIMG, XV] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 26];
const ACCS = [22, 23, 24, 25];
/** Per-row partial sums, added to ACCS after each row: two-level summation keeps float32 rounding near the depthwise route's. */
const ROWS4 = [27, 28, 29, 30];
/** `block loop (exit when counter == 0) ... body ... counter -= 1 end end`. */
const countDown = (counter: number, body: number[]) => [
  BLOCK, VOID, LOOP, VOID, ...get(counter), EQZ, BR_IF, 1, ...body, ...get(counter), I32, 1, SUB, ...set(counter), BR, 0, END, END,
];
const filterBody = [
  ...get(FCO), I32, 2, SHL, ...set(COB), ...get(FC), I32, 2, SHL, ...set(CEND),
  I32, 0, ...set(CI),
  BLOCK, VOID, LOOP, VOID, ...get(CI), ...get(CEND), EQ, BR_IF, 1,
  I32, 0, ...set(CO_),
  BLOCK, VOID, LOOP, VOID, ...get(CO_), ...get(COB), EQ, BR_IF, 1,
  ...ACCS.flatMap((acc) => [...splatF(0), ...set(acc)]),
  ...get(FDY), ...get(CO_), ADD, ...set(PDY), ...get(FX), ...get(CI), ADD, ...set(PIMG), ...get(FB), ...set(BB),
  ...countDown(BB, [
    ...get(PIMG), ...set(PROW), ...get(FOH), ...set(OHC),
    ...countDown(OHC, [
      ...get(PROW), ...set(PX), ...get(FOW), ...set(OWC),
      ...ROWS4.flatMap((r) => [...splatF(0), ...set(r)]),
      ...countDown(OWC, [
        ...get(PX), ...F32_LOAD, ...F32_SPLAT, ...set(XV),
        ...ROWS4.flatMap((r, j) => [...get(r), ...get(XV), ...get(PDY), ...loadAt(16 * j), ...F32_MUL, ...F32_ADD, ...set(r)]),
        ...get(PX), ...get(FCOL), ADD, ...set(PX), ...get(PDY), ...get(COB), ADD, ...set(PDY),
      ]),
      ...ACCS.flatMap((acc, j) => [...get(acc), ...get(ROWS4[j]!), ...F32_ADD, ...set(acc)]),
      ...get(PROW), ...get(FROW), ADD, ...set(PROW),
    ]),
    ...get(PIMG), ...get(FIMG), ADD, ...set(PIMG),
  ]),
  // out[c, co..co+15]: out + c*CO*4 + co*4, with CI = c*4.
  ...ACCS.flatMap((acc, j) => [...get(FOUT), ...get(CI), ...get(FCO), I32_MUL, ADD, ...get(CO_), ADD, ...get(acc), ...storeAt(16 * j)]),
  // i32.const takes a signed LEB128: 64 is 0xc0 0x00 (a lone 64 byte would read as -64).
  ...get(CO_), I32, 0xc0, 0x00, ADD, ...set(CO_), BR, 0, END, END,
  ...get(CI), I32, 4, ADD, ...set(CI), BR, 0, END, END,
  END,
];
// stepMultiply(x, dy, out, n, -, -): out = dy * step(x) for n floats (a multiple of 4), step as
// tfjs-backend-wasm's Step computes it: 1 where x > 0, NaN where x is NaN, else 0 (relu's gradient,
// fused: one pass instead of Step's and Multiply's). Locals: 6 k (byte offset), 7 end, 8 xv.
const [SX, SDY, SO, SN, SK, SEND, SXV] = [0, 1, 2, 3, 6, 7, 8];
const stepBody = [
  ...get(SN), I32, 2, SHL, ...set(SEND),
  I32, 0, ...set(SK),
  BLOCK, VOID, LOOP, VOID,
  ...get(SK), ...get(SEND), EQ, BR_IF, 1,
  ...get(SO), ...get(SK), ADD,
  ...get(SDY), ...get(SK), ADD, ...LOAD,
  ...get(SX), ...get(SK), ADD, ...LOAD, ...set(SXV),
  ...stepOf(SXV),
  ...F32_MUL, ...STORE,
  ...get(SK), I32, 16, ADD, ...set(SK),
  BR, 0,
  END, END, END,
];
// addRows(x, b, out, rows, channels, -): out[r, :] = x[r, :] + b[:] for r < rows, rows of `channels`
// floats (a multiple of 4): a bias add, [..., C] + [C]. Locals: 6 cb, 7 k.
const [AX, AB, AO, AROWS, ACH, ACB, AK] = [0, 1, 2, 3, 4, 6, 7];
const addBody = [
  ...get(ACH), I32, 2, SHL, ...set(ACB),
  BLOCK, VOID, LOOP, VOID,
  ...get(AROWS), EQZ, BR_IF, 1,
  I32, 0, ...set(AK),
  BLOCK, VOID, LOOP, VOID,
  ...get(AK), ...get(ACB), EQ, BR_IF, 1,
  ...get(AO), ...get(AK), ADD,
  ...get(AX), ...get(AK), ADD, ...LOAD,
  ...get(AB), ...get(AK), ADD, ...LOAD,
  ...F32_ADD, ...STORE,
  ...get(AK), I32, 16, ADD, ...set(AK),
  BR, 0, END, END,
  ...get(AX), ...get(ACB), ADD, ...set(AX),
  ...get(AO), ...get(ACB), ADD, ...set(AO),
  ...get(AROWS), I32, 1, SUB, ...set(AROWS),
  BR, 0, END, END, END,
];
const poolLocals = vec([[2, I32T], [4, V128T]]);
const sumLocals = vec([[4, I32T], [1, V128T]]);
const outerLocals = vec([[3, I32T], [1, V128T]]);
const swapLocals = vec([[5, I32T]]);
const filterLocals = vec([[11, I32T], [9, V128T]]);
const stepLocals = vec([[2, I32T], [1, V128T]]);
const addLocals = vec([[2, I32T]]);
const MODULE = new Uint8Array([
  ...HEADER,
  ...section(1, vec([6, 11].map((k) => [0x60, ...vec(new Array<number[]>(k).fill([I32T])), 0]))), // types: (i32 x 6|11) -> ()
  ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0x00]])), // import memory env.mem, min 0 pages
  ...section(3, vec([[0], [0], [0], [0], [1], [0], [0], [0]])), // eight functions, exported
  ...section(7, vec(['pool2x2Row', 'sumRows', 'outerRows', 'swapRows', 'filterGradSample', 'stepMultiply', 'addRows', 'scaleRows'].map((f, i) => [...name(f), 0x00, i]))),
  ...section(10, vec([code(poolLocals, poolBody), code(sumLocals, sumBody), code(outerLocals, outerBody), code(swapLocals, swapBody), code(filterLocals, filterBody), code(stepLocals, stepBody), code(addLocals, addBody), code(outerLocals, scaleBody)])),
]);

export interface SimdKernels {
  pool2x2Row(x: number, g: number, dx: number, windows: number, channels: number, rowBytes: number): void;
  sumRows(x: number, out: number, outer: number, rows: number, channels: number): void;
  outerRows(a: number, b: number, out: number, rows: number, cols: number): void;
  scaleRows(a: number, s: number, out: number, rows: number, cols: number): void;
  swapRows(x: number, out: number, A: number, B: number, floats: number): void;
  filterGradSample(x: number, dy: number, out: number, B: number, OH: number, OW: number, C: number, CO: number, rowStep: number, colStep: number, imgStep: number): void;
  stepMultiply(x: number, dy: number, out: number, n: number): void;
  addRows(x: number, b: number, out: number, rows: number, channels: number): void;
}

const instance = importedMemoryKernel<SimdKernels>(MODULE);

/** tfjs-backend-wasm's WebAssembly.Memory behind `backend`, if it is that backend and exposes it. */
export const wasmMemory = (backend: tf.KernelBackend): unknown => (backend as unknown as { wasm?: { asm?: { memory?: unknown } } }).wasm?.asm?.memory;

/**
 * The kernels bound to `backend`'s memory, or null where that is not reachable or the engine has no
 * WebAssembly SIMD (the callers then run their JavaScript loops).
 */
export function simdKernels(backend: tf.KernelBackend): SimdKernels | null {
  return instance(wasmMemory(backend));
}

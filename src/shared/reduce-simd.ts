/**
 * The chunk-ordered sum of float64 partial rows (reduce.ts) as a WebAssembly SIMD loop, two elements
 * per instruction. The JavaScript loop ran at ~2.5 ns an element here: 1.0–1.1 ms for four chunks of
 * an MNIST MLP's 100k parameters, the largest piece of a step's update at that size; this takes
 * 0.3–0.4 ms (docs/vectorized.md, "Where a training step's time goes").
 *
 * Same bits: every element is the same float64 additions in the same order — the start value (+0, or
 * a running sum), then row 0, row 1, … — and f64x2.add is IEEE addition, as JavaScript's. A scale is
 * one float64 multiply per element, then the caller's array stores the result (a Float32Array
 * rounds to nearest, as an assignment would). Only a NaN's payload may differ. Tested bit for bit
 * against the JavaScript loop.
 *
 * The module owns one 64 KiB page: a block of the running sums (ACC) and one block of a row (ROW).
 * The wrapper copies each row's block in (a typed-array copy, memory speed) and the sums out.
 */
import {
  ADD, BLOCK as BLOCK_OP, BR, BR_IF, code, END, EQ, F64_ADD, F64_DIV, F64_MUL, F64_SPLAT, F64T, get, HEADER, I32, I32T, LOOP, loadAt, name, section, set,
  storeAt, V128T, ownMemoryKernel, vec, VOID,
} from './wasm-encode.js';

/** Elements per block: the sums and one row fill the module's one page. */
const BLOCK = 4096;
const [ACC, ROW] = [0, BLOCK * 8];

/** A loop over byte offsets k = 0, 16, … < n (parameter 0) running `step` on local `k`. */
const loop16 = (k: number, step: number[]) => [
  I32, 0, ...set(k),
  BLOCK_OP, VOID, LOOP, VOID,
  ...get(k), ...get(0), EQ, BR_IF, 1,
  ...step,
  ...get(k), I32, 16, ADD, ...set(k), BR, 0,
  END, END,
];
// addRow(n): acc += row over n bytes. Local 1: k.
const addRow = [...loop16(1, [...get(1), ...get(1), ...loadAt(ACC), ...get(1), ...loadAt(ROW), ...F64_ADD, ...storeAt(ACC)]), END];
// scale(n, s) and divide(n, d): acc = acc * s, acc = acc / d over n bytes. Locals: 2 k, 3 the splat.
const byScalar = (op: number[]) => [...get(1), ...F64_SPLAT, ...set(3), ...loop16(2, [...get(2), ...get(2), ...loadAt(ACC), ...get(3), ...op, ...storeAt(ACC)]), END];
const MODULE = new Uint8Array([
  ...HEADER,
  ...section(1, vec([[0x60, ...vec([[I32T]]), 0], [0x60, ...vec([[I32T], [F64T]]), 0]])), // (i32) -> (), (i32, f64) -> ()
  ...section(3, vec([[0], [1], [1]])),
  ...section(5, vec([[0x00, 1]])), // one page, its own
  ...section(7, vec([[...name('addRow'), 0x00, 0], [...name('scale'), 0x00, 1], [...name('divide'), 0x00, 2], [...name('mem'), 0x02, 0]])),
  ...section(10, vec([code(vec([[1, I32T]]), addRow), ...[F64_MUL, F64_DIV].map((op) => code(vec([[1, I32T], [1, V128T]]), byScalar(op)))])),
]);

interface ReduceModule {
  addRow(nBytes: number): void;
  scale(nBytes: number, s: number): void;
  divide(nBytes: number, d: number): void;
  mem: { buffer: ArrayBuffer };
}

/** This thread's instance, or null where the engine has no WebAssembly SIMD. */
const reduceModule = ownMemoryKernel<ReduceModule, Float64Array>(MODULE, (memory) => new Float64Array(memory));

/** What {@link sumRowsSimd} does to each sum before storing it, and where the sums start. */
export interface SumFinish {
  /** Multiply each sum by this (default 1). */
  scale?: number;
  /** Then divide it by this (default: no division). */
  divisor?: number;
  /** Start each sum at from[k - lo] (it may be `out`) instead of +0. */
  from?: Float64Array;
}

/**
 * out[k - lo] = (start_k + Σ_c rows[c·stride + k]) × scale / divisor for k in [lo, hi), the rows
 * added in order (see {@link SumFinish}). Returns false, having changed nothing, where WebAssembly
 * SIMD is not available.
 */
export function sumRowsSimd(rows: Float64Array, count: number, stride: number, out: Float32Array | Float64Array, lo: number, hi: number, finish: SumFinish = {}): boolean {
  const { scale = 1, divisor, from } = finish;
  const mod = reduceModule();
  if (!mod) return false;
  const { k, heap } = mod;
  const row = ROW / 8;
  for (let b = lo; b < hi; b += BLOCK) {
    const e = Math.min(hi, b + BLOCK);
    const n = e - b;
    // The lanes past n add stale values and are never copied out (float SIMD cannot trap).
    const bytes = Math.ceil(n / 2) * 16;
    if (from) heap.set(from.subarray(b - lo, e - lo), 0);
    else heap.fill(0, 0, n);
    for (let c = 0; c < count; c++) {
      heap.set(rows.subarray(c * stride + b, c * stride + e), row);
      k.addRow(bytes);
    }
    if (scale !== 1) k.scale(bytes, scale); // × 1 is the identity, NaN and −0 included
    if (divisor !== undefined) k.divide(bytes, divisor);
    out.set(heap.subarray(0, n), b - lo);
  }
  return true;
}

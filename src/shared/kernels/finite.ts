/**
 * Whether every value of a float32 wasm tensor is finite, scanned in place on tfjs-backend-wasm's heap
 * by a WebAssembly SIMD loop. The vectorized executor checks each chunk's summed gradients before they
 * become a partial row; in JavaScript (reduce.ts's `allFinite`) that scan took ~0.2 ms for an MNIST
 * MLP's 100k parameters, about as long as one of the chunk's two big matrix products.
 *
 * The same test as `allFinite`: Σ v·0 is ±0 exactly when no value is ±Infinity or NaN. Four lanes per
 * instruction, four independent sums, then one comparison of all sixteen lanes with 0.
 */
import type * as tf from '@tensorflow/tfjs';
import { allFinite } from '../reduce.js';
import { ADD, BLOCK, BR, BR_IF, code, END, EQ, F32_ADD, F32_EQ, F32_MUL, get, HEADER, I32, I32T, importedMemoryKernel, LOOP, loadAt, name, section, set, simd, SHL, V128T, vec, VOID } from '../wasm-encode.js';
import { wasmMemory } from './simd.js';

const I32X4_ALL_TRUE = simd(0xa3);
const zeros = simd(0x0c, ...new Array<number>(16).fill(0));
// allFinite(p, n) -> i32: 1 when the n floats (a multiple of 16) from byte offset p are all finite.
// Locals: 2 end, 3-6 the four sums, 7 the zero vector.
const [P, N, END_, SUMS, Z] = [0, 1, 2, [3, 4, 5, 6], 7];
const body = [
  ...get(P), ...get(N), I32, 2, SHL, ADD, ...set(END_),
  ...zeros, ...set(Z), ...SUMS.flatMap((s) => [...get(Z), ...set(s)]),
  BLOCK, VOID, LOOP, VOID,
  ...get(P), ...get(END_), EQ, BR_IF, 1,
  ...SUMS.flatMap((s, j) => [...get(s), ...get(P), ...loadAt(16 * j), ...get(Z), ...F32_MUL, ...F32_ADD, ...set(s)]),
  ...get(P), I32, 0xc0, 0x00, ADD, ...set(P), // i32.const 64 (signed LEB128)
  BR, 0, END, END,
  ...get(SUMS[0]!), ...get(SUMS[1]!), ...F32_ADD, ...get(SUMS[2]!), ...get(SUMS[3]!), ...F32_ADD, ...F32_ADD, ...get(Z), ...F32_EQ, ...I32X4_ALL_TRUE,
  END,
];
const MODULE = new Uint8Array([
  ...HEADER,
  ...section(1, vec([[0x60, ...vec([[I32T], [I32T]]), ...vec([[I32T]])]])), // (i32, i32) -> i32
  ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0x00]])), // import memory env.mem, min 0 pages
  ...section(3, vec([[0]])),
  ...section(7, vec([[...name('allFinite'), 0x00, 0]])),
  ...section(10, vec([code(vec([[1, I32T], [5, V128T]]), body)])),
]);

const instance = importedMemoryKernel<{ allFinite(p: number, n: number): number }>(MODULE);

/** The scan bound to `backend`'s heap, or null where there is none (not wasm, or no WebAssembly SIMD). */
export const heapScanner = (backend: tf.KernelBackend) => instance(wasmMemory(backend));

/**
 * Whether every value of `values`, a float32 view of `backend`'s wasm heap (`vm.heapView`), is
 * finite; the SIMD scan where `backend` is tfjs-backend-wasm with WebAssembly SIMD, else `allFinite`.
 */
export function heapAllFinite(backend: tf.KernelBackend, values: Float32Array): boolean {
  const k = heapScanner(backend);
  if (!k || (values.buffer as unknown) !== (wasmMemory(backend) as { buffer: unknown }).buffer) return allFinite(values);
  const whole = values.length - (values.length % 16);
  return (whole === 0 || k.allFinite(values.byteOffset, whole) === 1) && allFinite(values.subarray(whole));
}

/**
 * The Adam/AdamW update (adam.ts) as a WebAssembly SIMD loop, four elements per instruction. The
 * JavaScript kernel emulates float32 with a Math.fround after every operation, and its three
 * divisions and square root per element run in float64: ~15 ns an element here, the bulk of an Adam
 * step at P = 100k. Here every operation is the float32 instruction itself.
 *
 * Same bits: each JavaScript operation is `fround(a op b)` on float32 inputs, computed in float64;
 * for +, −, ×, ÷ and √ that double rounding gives the correctly rounded float32 result (float64 has
 * more than 2·24 + 2 bits), which is what the f32x4 instruction returns. Operations are in the same
 * order. Only a NaN's payload may differ (wasm may canonicalise NaNs); a non-finite update is refused
 * before commit whatever its payload. Tested bit for bit against the JavaScript kernel.
 *
 * The module owns one 64 KiB page holding one block of p, g, m and v (4096 floats each); the wrapper
 * copies each block in and out (typed-array copies, ~10 µs a block).
 */
import {
  ADD, BLOCK as BLOCK_OP, BR, BR_IF, code, END, EQ, F32_ADD as FADD, F32_DIV as FDIV, F32_MUL as FMUL, F32_SPLAT as SPLAT, F32_SQRT as SQRT,
  F32T, get, HEADER, I32, I32T, LOOP, loadAt, name, section, set, SHL, storeAt, V128T, ownMemoryKernel, vec, VOID,
} from '../shared/wasm-encode.js';

/** Elements per call: four arrays of BLOCK floats fill the module's one page. */
const BLOCK = 4096;
const [P_OFF, G_OFF, M_OFF, V_OFF] = [0, 1, 2, 3].map((k) => k * BLOCK * 4) as [number, number, number, number];


// adam(n, b1, 1-b1, b2, 1-b2, c1, c2, eps, -lr, decay): n a multiple of 4.
// Locals: 10 k (byte offset), 11 end; v128 12-20 the nine splats, 21 g, 22 m, 23 v.
const [N, K, ENDL, G, MI, VI] = [0, 10, 11, 21, 22, 23];
const [B1, OMB1, B2, OMB2, C1, C2, EPS, NLR, DEC] = [12, 13, 14, 15, 16, 17, 18, 19, 20];
const body = [
  ...get(N), I32, 2, SHL, ...set(ENDL),
  ...[B1, OMB1, B2, OMB2, C1, C2, EPS, NLR, DEC].flatMap((local, i) => [...get(i + 1), ...SPLAT, ...set(local)]),
  I32, 0, ...set(K),
  BLOCK_OP, VOID, LOOP, VOID,
  ...get(K), ...get(ENDL), EQ, BR_IF, 1,
  ...get(K), ...loadAt(G_OFF), ...set(G),
  // m = m*b1 + g*(1-b1)
  ...get(K), ...loadAt(M_OFF), ...get(B1), ...FMUL, ...get(G), ...get(OMB1), ...FMUL, ...FADD, ...set(MI),
  ...get(K), ...get(MI), ...storeAt(M_OFF),
  // v = v*b2 + (g*g)*(1-b2)
  ...get(K), ...loadAt(V_OFF), ...get(B2), ...FMUL, ...get(G), ...get(G), ...FMUL, ...get(OMB2), ...FMUL, ...FADD, ...set(VI),
  ...get(K), ...get(VI), ...storeAt(V_OFF),
  // p = ((m/c1) / (sqrt(v/c2) + eps)) * (-lr) + p*decay
  ...get(K),
  ...get(MI), ...get(C1), ...FDIV,
  ...get(VI), ...get(C2), ...FDIV, ...SQRT, ...get(EPS), ...FADD,
  ...FDIV, ...get(NLR), ...FMUL,
  ...get(K), ...loadAt(P_OFF), ...get(DEC), ...FMUL,
  ...FADD, ...storeAt(P_OFF),
  ...get(K), I32, 16, ADD, ...set(K), BR, 0,
  END, END, END,
];
const MODULE = new Uint8Array([
  ...HEADER,
  ...section(1, vec([[0x60, ...vec([[I32T], ...new Array<number[]>(9).fill([F32T])]), 0]])), // (i32, f32 x 9) -> ()
  ...section(3, vec([[0]])),
  ...section(5, vec([[0x00, 1]])), // one page, its own
  ...section(7, vec([[...name('adam'), 0x00, 0], [...name('mem'), 0x02, 0]])),
  ...section(10, vec([code(vec([[2, I32T], [12, V128T]]), body)])),
]);

interface AdamModule {
  adam(n: number, b1: number, omb1: number, b2: number, omb2: number, c1: number, c2: number, eps: number, negLr: number, decay: number): void;
  mem: { buffer: ArrayBuffer };
}

/** This thread's instance, or null where the engine has no WebAssembly SIMD. */
const adamModule = ownMemoryKernel<AdamModule, Float32Array>(MODULE, (memory) => new Float32Array(memory));

/** The per-step float32 constants of an Adam update (as adam.ts computes them). */
export interface AdamConstants {
  b1: number;
  oneMinusB1: number;
  b2: number;
  oneMinusB2: number;
  c1: number;
  c2: number;
  eps: number;
  negLr: number;
  decay: number;
}

/**
 * The update of adam.ts's kernel on p, g, m, v [lo, hi) by the SIMD module. Returns false, having
 * changed nothing, where WebAssembly SIMD is not available.
 */
export function adamSimd(c: AdamConstants, p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lo: number, hi: number): boolean {
  const mod = adamModule();
  if (!mod) return false;
  const { k, heap } = mod;
  const at = (off: number) => off / 4;
  for (let b = lo; b < hi; b += BLOCK) {
    const e = Math.min(hi, b + BLOCK);
    const n = e - b;
    heap.set(p.subarray(b, e), at(P_OFF));
    heap.set(g.subarray(b, e), at(G_OFF));
    heap.set(m.subarray(b, e), at(M_OFF));
    heap.set(v.subarray(b, e), at(V_OFF));
    // The lanes past n compute on stale values and are never copied out (float SIMD cannot trap).
    k.adam(Math.ceil(n / 4) * 4, c.b1, c.oneMinusB1, c.b2, c.oneMinusB2, c.c1, c.c2, c.eps, c.negLr, c.decay);
    p.set(heap.subarray(at(P_OFF), at(P_OFF) + n), b);
    m.set(heap.subarray(at(M_OFF), at(M_OFF) + n), b);
    v.set(heap.subarray(at(V_OFF), at(V_OFF) + n), b);
  }
  return true;
}

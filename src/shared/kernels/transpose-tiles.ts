/**
 * A matrix transpose, [R, C] -> [C, R] in float32, four by four values at a time: four rows' 16 bytes
 * loaded, rearranged by six shuffles, stored as four columns. tfjs-backend-wasm's Transpose moves
 * every value on its own (~1.8 ns a value: 0.16 ms for the [32, 2704] activation a conv net's dense
 * layer transposes for its weight gradient in every chunk); this runs at memory speed. A copy, so
 * the bits are the same. R and C must be multiples of 4; transpose.ts hands it those cases.
 */
import { ADD, BLOCK, BR, BR_IF, END, EQ, EQZ, get, I32, I32T, importedMemoryKernel, LOOP, oneKernelModule, set, SHL, simd, SUB, V128T, VOID } from '../wasm-encode.js';

const LOAD = simd(0x00, 0, 0);
const STORE = simd(0x0b, 0, 0);
const I32_MUL = 0x6c;
/** i8x16.shuffle picking float lanes: 0-3 from the first operand, 4-7 from the second. */
const shuffle = (lanes: number[]) => simd(0x0d, ...lanes.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)));
const [LO_PAIRS, HI_PAIRS, LO_HALVES, HI_HALVES] = [shuffle([0, 4, 1, 5]), shuffle([2, 6, 3, 7]), shuffle([0, 1, 4, 5]), shuffle([2, 3, 6, 7])];

// transpose4(x, out, R, C): out[c, r] = x[r, c]. Locals: 4 cb (row bytes in), 5 rb (row bytes out),
// 6 r (rows left), 7 c (byte offset in the row), 8 band (x of the 4-row band), 9 col (out of its column),
// 10 p (scratch address); v128 11-14 the rows, 15-18 the pairs.
const [X, OUT, R, C, CB, RB, RL, CI, BAND, COL, P] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const V = [11, 12, 13, 14];
const T = [15, 16, 17, 18];
/** `local` + k × `stride` bytes, for k = 0..3 (the four rows of a tile). */
const plus = (local: number, stride: number, k: number) => [...get(local), ...(k ? [...get(stride), ...(k > 1 ? [I32, k, I32_MUL] : []), ADD] : [])];
const body = [
  ...get(C), I32, 2, SHL, ...set(CB), ...get(R), I32, 2, SHL, ...set(RB),
  ...get(X), ...set(BAND), ...get(OUT), ...set(COL), ...get(R), ...set(RL),
  BLOCK, VOID, LOOP, VOID,
  ...get(RL), EQZ, BR_IF, 1,
  I32, 0, ...set(CI),
  BLOCK, VOID, LOOP, VOID,
  ...get(CI), ...get(CB), EQ, BR_IF, 1,
  ...get(BAND), ...get(CI), ADD, ...set(P),
  ...V.flatMap((v, k) => [...plus(P, CB, k), ...LOAD, ...set(v)]),
  ...[[0, 1, LO_PAIRS], [0, 1, HI_PAIRS], [2, 3, LO_PAIRS], [2, 3, HI_PAIRS]].flatMap(([a, b, s], j) => [...get(V[a as number]!), ...get(V[b as number]!), ...(s as number[]), ...set(T[j]!)]),
  // The tile's column c/4 .. c/4+3 starts at out + (c/4)·R·4 bytes = col + c·R.
  ...get(COL), ...get(CI), ...get(R), I32_MUL, ADD, ...set(P),
  ...[[0, 2, LO_HALVES], [0, 2, HI_HALVES], [1, 3, LO_HALVES], [1, 3, HI_HALVES]].flatMap(([a, b, s], k) => [...plus(P, RB, k), ...get(T[a as number]!), ...get(T[b as number]!), ...(s as number[]), ...STORE]),
  ...get(CI), I32, 16, ADD, ...set(CI), BR, 0,
  END, END,
  ...get(BAND), ...get(CB), I32, 2, SHL, ADD, ...set(BAND),
  ...get(COL), I32, 16, ADD, ...set(COL),
  ...get(RL), I32, 4, SUB, ...set(RL),
  BR, 0, END, END, END,
];
const MODULE = oneKernelModule('transpose4', 4, [[7, I32T], [8, V128T]], body);

/** The kernel bound to a wasm memory (tfjs-backend-wasm's: simd.ts's `wasmMemory`), or null without WebAssembly SIMD. */
export const transposeTiles = importedMemoryKernel<{ transpose4(x: number, out: number, R: number, C: number): void }>(MODULE);

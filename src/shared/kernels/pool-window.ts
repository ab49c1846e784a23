/**
 * The WebAssembly code of whole 2x2, stride-2 max-pool windows, four channels per instruction and
 * branch-free: the loops over a row of windows (`windowRows`, which max-pool.ts's forward uses too),
 * the gradient over them, and relu's step. The gradient is shared by simd.ts's `pool2x2Row`
 * (MaxPoolGrad) and max-pool-grad-step.ts's fused kernel (MaxPoolGrad times relu's step), which
 * differ only in their locals and in that product, so both give the bits of the kernels they stand for.
 */
import { ADD, AND, BITSELECT, BLOCK, BR, BR_IF, END, EQ, EQZ, F32_ADD, F32_GT, F32_MUL, F32_NE, get, I32, I32_EQ, LOOP, OR, set, SHL, simd, splatF, splatI, SUB, VOID } from '../wasm-encode.js';

const LOAD = simd(0x00, 0, 0);
const STORE = simd(0x0b, 0, 0);

/**
 * tfjs-backend-wasm's Step with alpha 0 of the v128 in local `v`, left on the stack: 1 where v > 0,
 * NaN where v is NaN, else 0.
 */
export const stepOf = (v: number) => [
  ...splatF(1), ...get(v), ...splatF(0), ...F32_GT, ...AND,
  ...get(v), ...get(v), ...F32_NE, ...splatI(0x7fc00000), ...AND, ...OR,
];

/**
 * Local indices of a window-row function. Parameters: x, g, dx, windows, channels, rowBytes (and z,
 * relu's input, when fused); i32 locals cb (channel bytes), k (channel byte offset); v128 locals best,
 * idx, gt, v (and zv).
 */
export interface PoolLocals {
  X: number; G: number; D: number; WIN: number; CH: number; ROW: number;
  CB: number; K: number; BEST: number; IDX: number; GT: number; V: number;
  /** When present: dx is multiplied by step(z), z laid out as x. */
  step?: { Z: number; ZV: number };
}

/**
 * For `windows` adjacent whole 2x2 windows starting at byte offset x (NHWC, channels a multiple of 4,
 * rowBytes from one image row to the next): dy (g, one row of the pool's output) to each window's
 * FIRST maximum in dx, +0 to its other three positions — tfjs-backend-cpu's rule: strictly greater
 * than everything before it, from -Infinity, so NaN never wins and an all -Infinity/NaN window passes
 * nothing. With `step`, each value written is that times step(z) at its position, as a separate
 * float32 product (what StepMultiply then does).
 */
export function poolWindowsBody(L: PoolLocals): number[] {
  const { X, G, D, K, BEST, IDX, GT, V, step } = L;
  return windowRows(L, [X, D, ...(step ? [step.Z] : [])], [G], (at) => [
    ...splatF(-Infinity), ...set(BEST), ...splatI(-1), ...set(IDX),
    ...[0, 1, 2, 3].flatMap((t) => [
      ...at(X, t), ...LOAD, ...set(V),
      ...get(V), ...get(BEST), ...F32_GT, ...set(GT),
      ...get(V), ...get(BEST), ...get(GT), ...BITSELECT, ...set(BEST),
      ...splatI(t), ...get(IDX), ...get(GT), ...BITSELECT, ...set(IDX),
    ]),
    // dx at position t = dy where t won, else 0; "+ 0" turns a -0 gradient into +0, as cpu's 0 + dy does.
    ...[0, 1, 2, 3].flatMap((t) => [
      ...at(D, t),
      ...get(G), ...get(K), ADD, ...LOAD, ...get(IDX), ...splatI(t), ...I32_EQ, ...AND, ...splatF(0), ...F32_ADD,
      ...(step ? [...at(step.Z, t), ...LOAD, ...set(step.ZV), ...stepOf(step.ZV), ...F32_MUL] : []),
      ...STORE,
    ]),
  ]);
}

/** The locals {@link windowRows} iterates with: windows left, channels, image row bytes, channel bytes, channel byte offset. */
export type WindowLoopLocals = Pick<PoolLocals, 'WIN' | 'CH' | 'ROW' | 'CB' | 'K'>;

/**
 * The loops over `windows` adjacent whole 2x2 windows and, in each, over groups of 4 channels: `group`
 * is the code for one group, given `at(base, t)`, the byte offset of window position t (0: top-left,
 * 1: top-right, 2, 3: the row below) from the pointer in local `base`. After each window, the
 * pointers in `inputRows` (laid out as the input) move two columns on and those in `outputRows` (one
 * row of the pool's output) one.
 */
export function windowRows(L: WindowLoopLocals, inputRows: number[], outputRows: number[], group: (at: (base: number, t: number) => number[]) => number[]): number[] {
  const { WIN, CH, ROW, CB, K } = L;
  const at = (base: number, t: number) => [...get(base), ...get(K), ADD, ...(t & 1 ? [...get(CB), ADD] : []), ...(t & 2 ? [...get(ROW), ADD] : [])];
  const columns = (p: number, shift: number) => [...get(p), ...get(CB), ...(shift ? [I32, shift, SHL] : []), ADD, ...set(p)];
  return [
    ...get(CH), I32, 2, SHL, ...set(CB),
    BLOCK, VOID, LOOP, VOID,
    ...get(WIN), EQZ, BR_IF, 1,
    I32, 0, ...set(K),
    BLOCK, VOID, LOOP, VOID,
    ...get(K), ...get(CB), EQ, BR_IF, 1,
    ...group(at),
    ...get(K), I32, 16, ADD, ...set(K), BR, 0,
    END, END,
    ...inputRows.flatMap((p) => columns(p, 1)), ...outputRows.flatMap((p) => columns(p, 0)),
    ...get(WIN), I32, 1, SUB, ...set(WIN),
    BR, 0, END, END, END,
  ];
}

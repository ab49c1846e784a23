/**
 * A chain of float32 pointwise kernels run as one pass, for replayed traces
 * (workers/executors/vectorized/fuse-pointwise.ts builds the chains). A small model's chunk runs
 * several such kernels on an [n, 1] column, each a few µs of dispatch and one pass over memory. For
 * example, the seed model's loss and its gradient: Add, SquaredDifference, Mean, then Sub, Multiply,
 * Multiply. Here the chain is one WebAssembly loop, four values at a time, and the values between
 * two steps stay in registers. Each chain gets its own module, generated once whatever n is, and kept.
 *
 * Same bits: every step is one IEEE float32 operation per value, as wasm's kernel computes it.
 * - Add, Sub, Multiply and RealDiv are a ∘ b, in the kernel's operand order.
 * - SquaredDifference is (a − b)·(a − b).
 * - A Mean over axes of total length 1 is x + 0 (wasm's: (0 + x) / 1; see mean.ts).
 * An operand of one value is broadcast. The last n mod 4 values are done in JavaScript, each step
 * rounded to float32: for these operations, rounding the double result to float32 gives the
 * correctly rounded float32 result. Tested against wasm's own kernels, ±0, ±Infinity and overflow
 * included. Only a NaN's sign and payload may differ; WebAssembly leaves them unspecified.
 */
import * as tf from '@tensorflow/tfjs';
import { Composer, WASM } from './compose.js';
import { wasmMemory } from './simd.js';
import { ADD, BLOCK, BR, BR_IF, END, EQ, F32_ADD, F32_DIV, F32_MUL, F32_SPLAT, get, I32, I32T, importedMemoryKernel, loadAt, LOOP, oneKernelModule, set, simd, splatF, storeAt, V128T, VOID } from '../wasm-encode.js';

/** gradpool's kernel name: inputs `in0`, `in1`, …; attr `program`, a {@link PointwiseProgram} as JSON. */
export const POINTWISE = 'GradpoolPointwise';

/** The steps a chain can hold (`Mean1`: a Mean over axes of total length 1). */
export const POINTWISE_OPS = ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Mean1'] as const;
export type PointwiseOp = (typeof POINTWISE_OPS)[number];

/** An operand: input `in` of the kernel, or the result of step `t` of the chain. */
export type Ref = { in: number } | { t: number };

/** The chain: its steps in order, and which results leave it, with their shapes (all of one size n). */
export interface PointwiseProgram {
  steps: { op: PointwiseOp; args: Ref[] }[];
  outs: { t: number; shape: number[] }[];
}

/** Each step on one value, in float32: the tail of the loop, and the reference for tests. */
const ON_VALUE: Record<PointwiseOp, (a: number, b: number) => number> = {
  Add: (a, b) => Math.fround(a + b),
  Sub: (a, b) => Math.fround(a - b),
  Multiply: (a, b) => Math.fround(a * b),
  RealDiv: (a, b) => Math.fround(a / b),
  SquaredDifference: (a, b) => {
    const d = Math.fround(a - b);
    return Math.fround(d * d);
  },
  Mean1: (a) => Math.fround(a + 0),
};

const F32_SUB = simd(0xe5);
const [TEE, F32_LOAD] = [0x22, [0x2a, 2, 0]];

/**
 * The module of a program whose inputs `scalar[k]` are single values: `run(in0, …, out0, …, bytes)`
 * does the first `bytes` / 4 values, `bytes` a multiple of 16. Locals: the byte offset, a splat per
 * single-value input, a vector per step.
 */
function moduleOf(p: PointwiseProgram, scalar: boolean[]): Uint8Array {
  const k = scalar.length;
  const m = p.outs.length;
  const [BYTES, OFF] = [k + m, k + m + 1];
  const splat = new Map<number, number>();
  scalar.forEach((s, j) => s && splat.set(j, OFF + 1 + splat.size));
  const temp = (t: number) => OFF + 1 + splat.size + t;
  const operand = (r: Ref): number[] =>
    'in' in r ? (splat.has(r.in) ? get(splat.get(r.in)!) : [...get(r.in), ...get(OFF), ADD, ...loadAt(0)]) : get(temp(r.t));
  const OP: Record<PointwiseOp, (t: number) => number[]> = {
    Add: () => F32_ADD,
    Sub: () => F32_SUB,
    Multiply: () => F32_MUL,
    RealDiv: () => F32_DIV,
    SquaredDifference: (t) => [...F32_SUB, TEE, temp(t), ...get(temp(t)), ...F32_MUL],
    Mean1: () => [...splatF(0), ...F32_ADD],
  };
  const body = [
    ...[...splat].flatMap(([j, local]) => [...get(j), ...F32_LOAD, ...F32_SPLAT, ...set(local)]),
    BLOCK, VOID, LOOP, VOID,
    ...get(OFF), ...get(BYTES), EQ, BR_IF, 1,
    ...p.steps.flatMap((s, t) => [...s.args.flatMap(operand), ...OP[s.op](t), ...set(temp(t))]),
    ...p.outs.flatMap((o, j) => [...get(k + j), ...get(OFF), ADD, ...get(temp(o.t)), ...storeAt(0)]),
    ...get(OFF), I32, 16, ADD, ...set(OFF),
    BR, 0, END, END, END,
  ];
  return oneKernelModule('run', k + m + 1, [[1, I32T], [splat.size + p.steps.length, V128T]], body);
}

type Run = (...args: number[]) => void;
type Bind = (memory: unknown) => { run: Run } | null;

/**
 * Parsed programs by their JSON, and the modules by what they compute: the steps, which results
 * leave and which inputs are single values. A module depends on neither n nor the shapes, so the
 * chunk sizes a batch's end brings reuse it. Only the parsing cache holds programs of every size,
 * and it is emptied when it grows past {@link MAX_PROGRAMS}.
 */
type Parsed = { p: PointwiseProgram; signature: string; binds: Map<string, Bind> };
const programs = new Map<string, Parsed>();
const modules = new Map<string, Bind>();
const MAX_PROGRAMS = 256;

function programOf(json: string): Parsed {
  let e = programs.get(json);
  if (!e) {
    if (programs.size >= MAX_PROGRAMS) programs.clear();
    const p = JSON.parse(json) as PointwiseProgram;
    programs.set(json, (e = { p, signature: JSON.stringify([p.steps, p.outs.map((o) => o.t)]), binds: new Map() }));
  }
  return e;
}

function kernelOf(e: Parsed, scalar: boolean[], memory: unknown): Run | null {
  const mask = scalar.map(Number).join('');
  let bind = e.binds.get(mask);
  if (!bind) {
    const key = `${e.signature}|${mask}`;
    bind = modules.get(key) ?? importedMemoryKernel<{ run: Run }>(moduleOf(e.p, scalar));
    modules.set(key, bind);
    e.binds.set(mask, bind);
  }
  return bind(memory)?.run ?? null;
}

/** Test hook: how many chain modules have been generated in this thread. */
export const compiledChains = (): number => modules.size;

/** The program's steps on plain arrays (inputs of n values or of one) from value `from` on, written into `outs`. */
export function runPointwise(p: PointwiseProgram, ins: Float32Array[], outs: Float32Array[], from: number, n: number): void {
  const vals = new Float64Array(p.steps.length);
  const read = (r: Ref, i: number) => ('in' in r ? (ins[r.in]!.length === 1 && n !== 1 ? ins[r.in]![0]! : ins[r.in]![i]!) : vals[r.t]!);
  for (let i = from; i < n; i++) {
    p.steps.forEach((s, t) => (vals[t] = ON_VALUE[s.op](read(s.args[0]!, i), s.args[1] ? read(s.args[1], i) : 0)));
    p.outs.forEach((o, j) => (outs[j]![i] = vals[o.t]!));
  }
}

export const pointwiseConfig: tf.KernelConfig = {
  kernelName: POINTWISE,
  backendName: WASM,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const entry = programOf(String(attrs?.program));
    const { p } = entry;
    const ins = Object.keys(inputs).map((_, j) => inputs[`in${j}`] as tf.TensorInfo);
    const n = tf.util.sizeFromShape(p.outs[0]!.shape);
    const bad = ins.some((x) => !x || x.dtype !== 'float32' || ![1, n].includes(tf.util.sizeFromShape(x.shape)));
    if (bad || p.outs.some((o) => tf.util.sizeFromShape(o.shape) !== n))
      throw new Error(`${POINTWISE}: expected float32 inputs in0…in${ins.length - 1} of ${n} values or of one, got ${ins.map((x) => (x ? `${x.dtype}[${x.shape}]` : 'none')).join(', ')}`);
    const be = backend as tf.KernelBackend;
    const c = new Composer(be);
    const outs = p.outs.map((o) => ({ dataId: be.write(null as unknown as Float32Array, o.shape, 'float32'), shape: o.shape, dtype: 'float32' as const }));
    try {
      const scalar = ins.map((x) => n !== 1 && tf.util.sizeFromShape(x.shape) === 1);
      const vector = n - (n % 4);
      const run = vector > 0 ? kernelOf(entry, scalar, wasmMemory(be)) : null;
      if (run) run(...ins.map((x) => c.heapOffset(x)), ...outs.map((o) => c.heapOffset(o)), vector * 4);
      // The rest (all of it without WebAssembly SIMD) in JavaScript, on views taken after every allocation.
      runPointwise(p, ins.map((x) => c.heapView(x)), outs.map((o) => c.heapView(o)), run ? vector : 0, n);
      return outs;
    } catch (e) {
      outs.forEach((o) => be.disposeData(o.dataId));
      throw e;
    }
  },
};

/**
 * The oracle for the wasm gradient kernels: the same computation on tfjs's 'cpu' backend, which has
 * its own (independent, loop-based) implementations of these kernels.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { assertClose } from '../../helpers/assert.js';
import { uniform } from '../../helpers/data.js';
import { useBackend } from '../../helpers/env.js';

/** A test input: seeded float data of a shape, or given values and dtype. */
export interface Input {
  shape: number[];
  values: ArrayLike<number>;
  dtype: 'float32' | 'int32';
}
/** Seeded floats in [-1, 1). */
export const F = (seed: number, shape: number[]): Input => ({ shape, values: uniform(tf.util.sizeFromShape(shape), seed), dtype: 'float32' });
/** Given int32 values, 1-D unless a shape is given. */
export const I = (values: number[], shape = [values.length]): Input => ({ shape, values, dtype: 'int32' });

export type Fn = (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
interface Result {
  shape: number[];
  dtype: tf.DataType;
  values: Float32Array;
}

/** A tensor of `input` on the current backend. */
export const tensorOf = (input: Input): tf.Tensor => tf.tensor(Array.from(input.values), input.shape, input.dtype);

/** Runs `f` on fresh tensors of `inputs` and reads every output; disposes everything it made. */
function evaluate(f: Fn, inputs: Input[]): Result[] {
  return tf.tidy(() => {
    const out = f(...inputs.map(tensorOf));
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, dtype: t.dtype, values: Float32Array.from(t.dataSync()) }));
  });
}

/** {@link evaluate} on `backend`, which it leaves the current one. */
export async function runOn(backend: 'cpu' | 'wasm', f: Fn, inputs: Input[]): Promise<Result[]> {
  await useBackend(backend);
  return evaluate(f, inputs);
}

/**
 * Asserts `f` on wasm equals `f` on cpu (or `oracle` on cpu: another route to the same values): the
 * same shapes, and each value within `rtol` of itself or, near zero (sums that cancel; cpu sums in
 * float64, wasm in float32), within a tenth of `rtol` times the output's largest |value|.
 * Leaves wasm the current backend.
 */
export async function assertMatchesCpu(label: string, f: Fn, inputs: Input[], opts: { rtol?: number; oracle?: Fn } = {}): Promise<void> {
  const rtol = opts.rtol ?? 1e-5;
  const want = await runOn('cpu', opts.oracle ?? f, inputs);
  const got = await runOn('wasm', f, inputs);
  assert.equal(got.length, want.length, `${label}: number of outputs`);
  want.forEach((w, i) => {
    assert.deepEqual(got[i]!.shape, w.shape, `${label}: shape of output ${i}`);
    assertClose(got[i]!.values, w.values, { rtol, atol: 0, floor: 0.1, shape: w.shape }, `${label} (output ${i})`);
  });
}

/** The engine's tensors and the wasm backend's buffers, which a kernel's leaked intermediates would raise. */
function liveCounts(): { tensors: number; wasmBuffers: number } {
  return { tensors: tf.memory().numTensors, wasmBuffers: tf.engine().findBackend('wasm')!.numDataIds() };
}

/** Asserts `f` on wasm leaves no tensor or buffer behind over repeated calls. */
export async function assertNoLeak(f: Fn, inputs: Input[], times = 20): Promise<void> {
  await useBackend('wasm');
  evaluate(f, inputs);
  const before = liveCounts();
  for (let i = 0; i < times; i++) evaluate(f, inputs);
  assert.deepEqual(liveCounts(), before);
}

/** Runs a kernel through the engine (so on the current backend), as a tfjs op would. */
export function kernel(name: string, inputs: Record<string, tf.Tensor>, attrs: object): tf.Tensor {
  return tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
}

/** The NHWC output shape of a 2-D convolution, as the kernels compute it. */
export function convOutShape(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding,
  depthwise: boolean,
  roundingMode?: 'floor' | 'round' | 'ceil',
): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], strides, dilations, pad, roundingMode, depthwise);
  return info.outShape;
}

/** The bits of each value, every NaN as one: WebAssembly leaves a NaN's sign and payload unspecified (engines differ with operand order). */
export const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (b, i) => (Number.isNaN(a[i]) ? 'NaN' : b));
/** Values spread over 2^-20..2^20 (so a different summation order would change float32 roundings), with specials mixed in. */
export const wide = (seed: number, shape: number[], specials: boolean): Input => {
  const base = F(seed, shape);
  const values = Array.from(base.values, (v, i) => {
    if (specials && i % 13 === 5) return [NaN, Infinity, -Infinity, -0][(i / 13) % 4 | 0]!;
    return (v - 0.5) * 2 ** ((((v * 1e6) | 0) % 40) - 20);
  });
  return { ...base, values };
};

/**
 * a·b for a [M, K] (or, with `transposeA`, a stored [K, M]) and b [K, N], each output summed from +0
 * with k in order, every product and sum rounded to float32: what XNNPACK's GEMM computes.
 */
export function inOrderProduct(a32: ArrayLike<number>, b32: ArrayLike<number>, M: number, K: number, N: number, transposeA = false): Float32Array {
  const [a, b] = [Float32Array.from(a32), Float32Array.from(b32)]; // the tensors' float32 values
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s = Math.fround(s + Math.fround(a[transposeA ? k * M + i : i * K + k]! * b[k * N + n]!));
      out[i * N + n] = s;
    }
  return out;
}

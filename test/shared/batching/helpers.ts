/**
 * Test harness for the vectorized executor: seeded data, a per-sample loop oracle written here (plain
 * tfjs on the inner backend, one sample at a time), and a checker that compares a vectorized run of any
 * single-sample function, forward values and per-sample gradients, against that oracle.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import assert from 'node:assert/strict';
import { assertClose } from '../../helpers/assert.js';
import { rng, uniform } from '../../helpers/data.js';
export { useBackend } from '../../helpers/env.js';
import { ensureVmapBackend, resetWarnings, vectorize } from '../../../src/shared/batching/index.js';

/** Captures the vectorized backend's warnings for the duration of a test. */
export function captureWarnings(): string[] {
  const seen: string[] = [];
  resetWarnings((m) => seen.push(m));
  return seen;
}

/** One argument of a checked function: its per-sample shape, whether it is batched, its values. */
export interface ArgSpec {
  shape: number[];
  batched: boolean;
  /** Integer argument (indices) with values in [0, int); never differentiated. */
  int?: number;
  /** Float values are shifted by this (e.g. to keep log/sqrt arguments positive). */
  offset?: number;
}

/** A batched argument of per-sample shape `shape`. */
export const B = (...shape: number[]): ArgSpec => ({ shape, batched: true });
/** An unbatched argument (shared by all samples, like a parameter). */
export const U = (...shape: number[]): ArgSpec => ({ shape, batched: false });

/**
 * Everything a leak would grow: engine tensors and data buffers, the inner backend's data ids and the
 * vmap backend's (each vmap data id owns one inner reference).
 */
export function liveCounts(backend: 'cpu' | 'wasm'): { tensors: number; buffers: number; inner: number; vmap: number } {
  return {
    tensors: tf.memory().numTensors,
    buffers: tf.memory().numDataBuffers,
    inner: tf.engine().findBackend(backend).numDataIds(),
    vmap: ensureVmapBackend(backend).numDataIds(),
  };
}

export interface CheckOptions {
  n?: number;
  /** Also compare per-sample gradients w.r.t. every float argument (default true). */
  grads?: boolean;
  rtol?: number;
  seed?: number;
}

/** Fixed, position-dependent output weights: the checked loss is sum(out * w), so dL/dout differs per element. */
function weighted(out: tf.Tensor): tf.Tensor {
  const w = Float32Array.from({ length: out.size }, (_, i) => 0.5 + ((i * 7919) % 13) / 13);
  return tf.sum(tf.mul(tf.cast(out, 'float32'), tf.tensor(w, out.shape)));
}

function makeArgs(specs: ArgSpec[], n: number, seed: number): tf.Tensor[] {
  return specs.map((s, k) => {
    const shape = s.batched ? [n, ...s.shape] : s.shape;
    const size = tf.util.sizeFromShape(shape);
    if (s.int !== undefined) {
      const r = rng(seed + k);
      return tf.tensor(Int32Array.from({ length: size }, () => Math.floor(r() * s.int!)), shape, 'int32');
    }
    const v = uniform(size, seed * 31 + k);
    if (s.offset) for (let i = 0; i < v.length; i++) v[i] = Math.abs(v[i]!) + s.offset;
    return tf.tensor(v, shape);
  });
}

/**
 * Runs `f` vectorized (via `vmap`) and per sample (the loop oracle) on the same seeded arguments and
 * asserts equal outputs and, unless disabled, equal per-sample gradients of sum(f(...) * w) with
 * respect to every float argument, batched or not.
 */
export function check(label: string, f: (...a: tf.Tensor[]) => tf.Tensor, specs: ArgSpec[], opts: CheckOptions = {}): void {
  const args = makeArgs(specs, opts.n ?? 3, opts.seed ?? 7);
  try {
    compare(label, f, args, specs, opts);
  } finally {
    args.forEach((a) => a.dispose());
  }
}

/**
 * {@link check} on given arguments: batched ones carry the batch axis (size `opts.n`) in front; `specs`
 * say which are batched and which are integer (never differentiated). The caller owns `args`.
 */
export function compare(label: string, f: (...a: tf.Tensor[]) => tf.Tensor, args: tf.Tensor[], specs: ArgSpec[], opts: CheckOptions = {}): void {
  const { n = 3, grads = true, rtol = 1e-5 } = opts;
  const diff = specs.map((s, k) => (s.int === undefined ? k : -1)).filter((k) => k >= 0);
  const gradsOf = (a: tf.Tensor[]) => {
    if (!grads) return [];
    const xs = diff.map((k) => a[k]!);
    const { grads: g } = tf.engine().gradients(() => weighted(f(...a)), xs, undefined, true);
    return xs.map((x, i) => g[i] ?? tf.zerosLike(x));
  };
  // Oracle: one sample at a time on the inner backend.
  let outShape: number[] = [];
  const want = tf.tidy(() => {
    const outs: number[][] = [[]];
    for (let i = 0; i < n; i++) {
      const ai = args.map((a, k) => (specs[k]!.batched ? tf.reshape(tf.slice(a, i, 1), specs[k]!.shape) : a));
      const res = [f(...ai), ...gradsOf(ai)];
      outShape = res[0]!.shape;
      res.forEach((t, j) => (outs[j] ??= []).push(...t.dataSync()));
    }
    return outs;
  });
  const got = vectorize((...a) => [f(...a), ...gradsOf(a)], specs.map((s) => (s.batched ? 0 : null)))(...args);
  try {
    assert.equal(got.length, want.length, `${label}: number of results`);
    assert.deepEqual(got[0]!.shape, [n, ...outShape], `${label}: output shape`);
    got.forEach((t, j) => assertClose(t.dataSync(), want[j]!, { rtol, floor: 0.01 }, j === 0 ? `${label}: output` : `${label}: grad of arg ${diff[j - 1]}`));
  } finally {
    got.forEach((t) => t.dispose());
  }
}

/**
 * `vmap`: torch.func.vmap / jax.vmap for TensorFlow.js, in-process on the active backend. `f` is
 * written for one sample; the batching rules of src/shared/batching run it over the whole batch as
 * batched kernels (the ones the pool's workers use), with the per-sample fallback, and its warning
 * naming the kernel, where a rule is missing.
 *
 * A call: flatten the arguments, read each leaf's batch axis off `inAxes`, move it to the front, run
 * `f` on the vmap backend over chunks of `chunkSize` samples, concatenate the chunks, and move each
 * output leaf's batch axis to where `outAxes` puts it.
 */
import * as tf from '@tensorflow/tfjs';
import { errors, fmtShape, raw } from '../errors.js';
import { ensureVmapBackend, runChunk, sameStructure, tileBatch, type ChunkOut, type PreparedArgs } from '../shared/batching/index.js';
import { activeRandomness, refusingDraws, withRandomness } from '../shared/random/scope.js';
import { leafAxes, normalizeAxis, type AxisSpec } from './axes.js';
import { ensureBackendKernels } from './kernels.js';
import { flatten, leafPaths, unflatten } from '../shared/pytree.js';

/** What random ops inside `f` do (torch.func's `randomness`). */
export type VmapRandomness = 'error' | 'different' | 'same';

export interface VmapOptions {
  /** Per argument: the batch axis (negative counts from the end), `null` (shared by every sample), or a tree of those. A single number or null applies to every argument. Default 0. */
  inAxes?: AxisSpec;
  /** Per output leaf, where the batch axis goes, as a prefix tree of f's output. `null`: the output must not depend on the batch, and comes back once. Default 0. */
  outAxes?: AxisSpec;
  /** Run at most this many samples at once (bounds memory, as `torch.func.vmap(chunk_size=…)`); default: the whole batch. Results do not depend on it. */
  chunkSize?: number;
  /**
   * `'error'` (default, as torch.func): a random op inside f throws. `'different'`: every sample draws
   * its own values. `'same'`: one draw per call, shared by the batch. Draws are keyed by (seed, call,
   * sample, op ordinal), as in the pool, so they do not depend on `chunkSize`.
   */
  randomness?: VmapRandomness;
  /** The key of the draws under `'different'` / `'same'`; default: a random one per vmapped function. */
  seed?: number;
}

const KNOWN = ['inAxes', 'outAxes', 'chunkSize', 'randomness', 'seed'];
const RANDOMNESS: readonly VmapRandomness[] = ['error', 'different', 'same'];
const ADVICE = "Call vmap(f, { randomness: 'different' }) (a draw per sample) or { randomness: 'same' } (one draw shared by the batch) to allow them";
/**
 * A vmap called inside another vmap, or inside a pool's model (whose executor already keys each
 * sample's draws): a draw per inner sample would have no key of its own, so its draws are refused.
 */
const NESTED = "Random ops inside a vmap nested in another vmap or called from a pool's model are not supported: draw them outside that vmap (in the outermost vmap, or in the model itself) and pass them in";

export interface Parsed {
  inAxes: AxisSpec;
  outAxes: AxisSpec;
  chunkSize: number | undefined;
  randomness: VmapRandomness;
  seed: number;
}

/** Validates vmap's options (also `pool.vmap`'s); `seed` defaults to `defaultSeed`. */
export function parseVmapOptions(options: unknown, defaultSeed: () => number): Parsed {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw errors.type('options', 'an object', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN.includes(key)) throw errors.unknownField(`options.${key}`, KNOWN);
  const chunkSize = o.chunkSize;
  if (chunkSize !== undefined && !(Number.isInteger(chunkSize) && (chunkSize as number) > 0)) throw errors.invalidOption('chunkSize', 'a positive integer', chunkSize);
  const randomness = (o.randomness ?? 'error') as VmapRandomness;
  if (!RANDOMNESS.includes(randomness)) throw errors.invalidOption('randomness', `one of ${RANDOMNESS.map((r) => `'${r}'`).join(', ')}`, o.randomness);
  const seed = o.seed ?? defaultSeed();
  if (!(Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) <= Number.MAX_SAFE_INTEGER)) throw errors.invalidOption('seed', 'a non-negative integer', o.seed);
  return { inAxes: (o.inAxes === undefined ? 0 : o.inAxes) as AxisSpec, outAxes: (o.outAxes === undefined ? 0 : o.outAxes) as AxisSpec, chunkSize: chunkSize as number | undefined, randomness, seed: seed as number };
}

/** Flattens a call's arguments and moves each batched leaf's batch axis to the front (the caller disposes the moved copies). */
export function prepareArgs(args: unknown[], inAxes: AxisSpec): PreparedArgs {
  const { leaves, structure } = flatten(args, 'args');
  const spec = typeof inAxes === 'number' || inAxes === null ? args.map(() => inAxes) : inAxes;
  if (Array.isArray(spec) && spec.length !== args.length) throw errors.invalidOption('inAxes', `one entry per argument (f was called with ${args.length})`, raw(`an array of length ${spec.length}`));
  const axes = leafAxes(structure, spec, 'inAxes', 'args');
  const paths = leafPaths(structure, 'args');
  let n: number | undefined;
  let first = '';
  const moved = leaves.map((t, i) => {
    const a = axes[i];
    if (a === null || a === undefined) return t;
    const axis = normalizeAxis(a, t.rank, specPath(paths[i]!), paths[i]!, t.shape);
    const size = t.shape[axis]!;
    if (n === undefined) [n, first] = [size, `${paths[i]} (axis ${axis})`];
    else if (size !== n) throw errors.invalidOption('inAxes', `batched arguments of one batch size: ${first} has ${n} samples`, raw(`${size} samples in ${paths[i]} (axis ${axis}, shape ${fmtShape(t.shape)})`));
    return axis === 0 ? t : tf.transpose(t, [axis, ...t.shape.map((_, d) => d).filter((d) => d !== axis)]);
  });
  if (n === undefined) throw errors.invalidOption('inAxes', 'at least one batched argument (a number somewhere in inAxes)', spec);
  return { structure, leaves: moved, batched: axes.map((a) => a !== null), n };
}

/** Disposes the transposed copies {@link prepareArgs} made (never the caller's own tensors). */
export function disposeMoved(prepared: PreparedArgs, args: unknown[]): void {
  const original = new Set(flatten(args, 'args').leaves);
  for (const t of prepared.leaves) if (!original.has(t)) t.dispose();
}

/** `args[1].w` → `inAxes[1].w`: the spec entry that covers a leaf (the message names the leaf too). */
const specPath = (leafPath: string) => 'inAxes' + leafPath.slice('args'.length);

/**
 * Vectorizes `f`, written for one sample, over a batch: `vmap(f)(xs)` stacks `f(xs[i])` for every i,
 * computed as batched kernels in one pass (no loop), on whatever tfjs backend is active. `f` takes
 * and returns tensors or trees (arrays, plain objects) of them. Composes with the other transforms:
 * `vmap(grad(loss))` gives per-sample gradients, `vmap(jacrev(f))` per-sample Jacobians,
 * `vmap(vmap(f))` maps over two axes.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { vmap, grad } from 'gradpool';
 * const model = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(x, w)); // one sample: x [3]
 * const xs = tf.randomNormal([8, 3]), w = tf.ones([3]);
 * vmap(model, { inAxes: [0, null] })(xs, w).print();                    // [8]: one output per sample
 * const perSample = vmap(grad(model, { argnums: 1 }), { inAxes: [0, null] })(xs, w); // [8, 3]
 * vmap((x: tf.Tensor) => tf.mul(x, 2), { inAxes: 1, outAxes: 1 })(tf.ones([2, 5])); // [2, 5]
 * ```
 */
export function vmap<A extends unknown[], R>(f: (...args: A) => R, options?: VmapOptions): (...args: A) => R {
  if (typeof f !== 'function') throw errors.type('f', 'a function', f);
  const o = parseVmapOptions(options, () => Math.floor(Math.random() * 2 ** 32));
  let call = 0;
  return (...args: A): R => {
    // Any draw scope already open is an outer vmap's or a pool executor's: this vmap's samples have no
    // keys of their own there (whatever its `randomness`), so it refuses draws.
    const nested = activeRandomness() !== null;
    const c = call++;
    const body = () => vmapCall(f as (...a: unknown[]) => unknown, args, o);
    if (nested) return refusingDraws(NESTED, body) as R;
    return withRandomness({ mode: o.randomness, seed: o.seed, call: c }, body, ADVICE) as R;
  };
}

function vmapCall(f: (...a: unknown[]) => unknown, args: unknown[], o: Parsed): unknown {
  ensureBackendKernels();
  const prepared = prepareArgs(args, o.inAxes);
  try {
    return run(f, prepared, o);
  } finally {
    disposeMoved(prepared, args);
  }
}

/** Runs the chunks and assembles the output tree. */
function run(f: (...a: unknown[]) => unknown, a: PreparedArgs, o: Parsed): unknown {
  const vm = ensureVmapBackend(tf.getBackend());
  const size = o.chunkSize ?? a.n;
  const chunks: ChunkOut[] = [];
  try {
    for (let start = 0; start < a.n; start += size) chunks.push(runChunk(vm, f, a, start, Math.min(size, a.n - start)));
    return assemble(chunks, o.outAxes);
  } finally {
    for (const ch of chunks) ch.outs.forEach((t) => t.dispose());
  }
}

/** Concatenates the chunks' leaves and puts each leaf's batch axis where outAxes says. */
export function assemble(chunks: readonly ChunkOut[], outAxes: AxisSpec): unknown {
  const structure = chunks[0]!.structure;
  if (chunks.some((ch) => !sameStructure(ch.structure, structure))) throw errors.invalidOption("f's output", 'one tree structure for every chunk of the batch', raw('different ones'));
  const axes = leafAxes(structure, outAxes, 'outAxes', "f's output");
  const paths = leafPaths(structure, "f's output");
  const leaves = axes.map((axis, j) => {
    const at = 'outAxes' + paths[j]!.slice("f's output".length);
    if (axis === null) {
      if (chunks.some((ch) => ch.batched[j])) throw errors.invalidOption(at, `a batch axis for ${paths[j]}, which depends on the batch`, null);
      return chunks[0]!.outs[j]!.clone();
    }
    return tf.tidy(() => {
      // A leaf that does not depend on the batch is repeated per sample, as in JAX.
      const full = chunks.map((ch) => (ch.batched[j] ? ch.outs[j]! : tileBatch(ch.outs[j]!.clone(), ch.m)));
      const stacked = full.length === 1 ? full[0]!.clone() : tf.concat(full, 0);
      const to = normalizeAxis(axis, stacked.rank, at, paths[j]!, stacked.shape);
      if (to === 0) return stacked;
      const perm = [...Array(stacked.rank).keys()].slice(1);
      perm.splice(to, 0, 0);
      return tf.transpose(stacked, perm);
    });
  });
  return unflatten(structure, leaves);
}

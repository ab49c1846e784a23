/**
 * Random ops inside the user's model, drawn per sample (`GradPool.create({ randomness })`).
 *
 * Why a hook: in tfjs 4.22, `randomUniform`, `randomNormal`, `truncatedNormal` and `randomGamma` are not kernels. Each
 * fills a buffer in JavaScript from `seedrandom.alea(String(seed))`, with `seed = Math.random()` when
 * the caller gives none, and `tf.dropout` calls `randomUniform`. The vmap backend therefore only ever
 * sees a finished draw — an unbatched constant shared by the whole chunk — and a sample loop would
 * draw from wherever `Math.random` happens to be. So, while a gradpool executor runs the model:
 *
 * 1. the engine's `startScope` is wrapped: `op()` opens a scope named `randomUniform__op` (…) and then
 *    calls the op's implementation as `fn.apply(void 0, args)`;
 * 2. on such a scope a ONE-SHOT `Function.prototype.apply` hook is armed. It restores itself on its
 *    first call, checks that it caught the implementation (`randomUniform_`, … — tfjs changed if not)
 *    and runs it itself with a seed from key.ts in the `seed` argument: once for one sample (the loop
 *    executor), or once per sample of the chunk, stacked by the executor into ONE batched tensor (the
 *    vectorized executor).
 *
 * Everything is restored in `finally`, and nothing is hooked outside {@link withRandomness}.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../../errors.js';
import type { RandomSpec } from '../protocol.js';
import { drawSeed } from './key.js';

/** A drawing op: its implementation's name, its public name, and whether a `seed` argument fixes its draw. */
interface DrawOp {
  impl: string;
  name: string;
  /** Mirrors tfjs: UniformRandom uses any non-null seed, MPRandGauss only a truthy one. */
  seeded(seed: unknown): boolean;
}

/** The op scopes that draw, by the scope name `op()` opens (a Map: scope names are arbitrary strings). */
const DRAWS = new Map<string, DrawOp>([
  ['randomUniform__op', { impl: 'randomUniform_', name: 'tf.randomUniform', seeded: (s) => s != null }],
  ['randomNormal__op', { impl: 'randomNormal_', name: 'tf.randomNormal', seeded: (s) => Boolean(s) }],
  ['truncatedNormal__op', { impl: 'truncatedNormal_', name: 'tf.truncatedNormal', seeded: (s) => Boolean(s) }],
  ['randomGamma__op', { impl: 'randomGamma_', name: 'tf.randomGamma', seeded: (s) => Boolean(s) }],
]);
/** Public ops that draw through one of {@link DRAWS}: a refusal names what the user called. */
const CALLERS = new Map([
  ['dropout__op', 'tf.dropout'],
  ['randomStandardNormal__op', 'tf.randomStandardNormal'],
  ['randomUniformInt__op', 'tf.randomUniformInt'],
]);
/** Position of `seed` in the arguments of every implementation in DRAWS: (shape, a, b, dtype, seed). */
const SEED_ARG = 4;

/** Makes one batched tensor of per-sample shape `shape` from n draws' values, sample-major. */
export type StackDraws = (values: tf.TypedArray, shape: number[], dtype: tf.DataType) => tf.Tensor;

/** Whose forward is running: samples `first`… of the batch, one at a time (`stack` null) or `n` at once. */
interface Target {
  first: number;
  n: number;
  stack: StackDraws | null;
}

interface Active {
  spec: RandomSpec;
  /** The first refusal (`'error'`): reported whatever the executor made of the throw. */
  refused: Error | null;
  target: Target | null;
  /** Draws so far in the current forward: the ordinal of the next one. */
  ordinal: number;
  /** Set while we run an implementation ourselves, so its own scopes (none in tfjs 4.22) are left alone. */
  drawing: boolean;
  /** What a refusal tells the user to do instead (the pool's and vmap's options differ). */
  advice: string | undefined;
}

/** The engine internals used here (tfjs 4.22): the scope hook and the scope stack. */
interface EngineScopes {
  startScope(name?: string): void;
  state: { scopeStack: { name: string }[] };
}

let active: Active | null = null;

/**
 * Runs `fn` (a task's chunks, or the creation probe) with the model's random ops keyed by `spec`. With
 * `'error'`, the first random op is refused: that refusal is thrown even if the executor caught it (the
 * vectorized executor retries a chunk in the loop, the loop wraps errors per sample).
 */
export function withRandomness<T>(spec: RandomSpec, fn: () => T, advice?: string): T {
  if (active) throw new Error('randomness: internal error, nested withRandomness');
  const engine = tf.engine() as unknown as EngineScopes;
  const apply = Function.prototype.apply;
  const own = Object.prototype.hasOwnProperty.call(engine, 'startScope');
  const startScope = engine.startScope;
  const state: Active = { spec, refused: null, target: null, ordinal: 0, drawing: false, advice };
  active = state;
  engine.startScope = function (this: EngineScopes, name?: string): void {
    // Only while an executor runs the model (a target is set): gradpool's own draws stay tfjs's.
    const op = name === undefined || state.drawing || !state.target ? undefined : DRAWS.get(name);
    if (!op) return startScope.call(this, name);
    if (state.spec.mode === 'error') {
      // Thrown before the scope is pushed: op() calls startScope outside its try, so nothing would pop it.
      const caller = CALLERS.get(this.state.scopeStack.at(-1)?.name ?? '');
      throw (state.refused ??= errors.randomness(caller ?? op.name, state.advice));
    }
    startScope.call(this, name);
    arm(state, op);
  };
  let out: T | undefined;
  let failure: { e: unknown } | null = null;
  try {
    out = fn();
  } catch (e) {
    failure = { e };
  } finally {
    active = null;
    Function.prototype.apply = apply; // an armed hook that never fired
    if (own) engine.startScope = startScope;
    else delete (engine as Partial<EngineScopes>).startScope;
  }
  if (state.refused) throw state.refused;
  if (failure) throw failure.e;
  return out as T;
}

/** The mode of the {@link withRandomness} in progress, or null outside one. */
export function activeRandomness(): RandomSpec['mode'] | null {
  return active?.spec.mode ?? null;
}

/**
 * Runs `fn` inside the {@link withRandomness} in progress with every random op refused, saying `advice`
 * (a vmap inside a vmap: a draw per inner sample has no key of its own).
 */
export function refusingDraws<T>(advice: string, fn: () => T): T {
  const s = active;
  if (!s) throw new Error('randomness: internal error, refusingDraws outside withRandomness');
  const saved = { spec: s.spec, advice: s.advice };
  s.spec = { ...s.spec, mode: 'error' };
  s.advice = advice;
  try {
    return fn();
  } finally {
    s.spec = saved.spec;
    s.advice = saved.advice;
  }
}

/** The loop executor: runs sample `index`'s forward (its index in the whole batch). */
export function forSample<T>(index: number, fn: () => T): T {
  return withTarget({ first: index, n: 1, stack: null }, fn);
}

/** The vectorized executor: runs the forward of samples [first, first + n) at once; `stack` batches their draws. */
export function forBatch<T>(first: number, n: number, stack: StackDraws, fn: () => T): T {
  return withTarget({ first, n, stack }, fn);
}

/** Outside {@link withRandomness} (unit tests of the executors, `vmap`) tfjs draws as it always does. */
function withTarget<T>(target: Target, fn: () => T): T {
  const s = active;
  if (!s) return fn();
  const saved = { target: s.target, ordinal: s.ordinal };
  s.target = target;
  s.ordinal = 0;
  try {
    return fn();
  } finally {
    s.target = saved.target;
    s.ordinal = saved.ordinal;
  }
}

/** Arms the one-shot hook that catches `op`'s implementation as `op()` calls it. */
function arm(state: Active, op: DrawOp): void {
  const original = Function.prototype.apply;
  Function.prototype.apply = function (this: (...a: unknown[]) => unknown, thisArg: unknown, args?: ArrayLike<unknown>) {
    Function.prototype.apply = original; // first thing: every other apply is the real one
    if (this.name !== op.impl)
      throw new Error(`randomness: internal error, expected tfjs to call ${op.impl} inside its op scope, got ${this.name || 'an anonymous function'} (gradpool supports tfjs 4.22)`);
    return draw(state, op, this, thisArg, Array.from(args ?? []));
  } as typeof original;
}

/** Runs `op`'s implementation `impl` as the current target needs it; returns what `op()` should. */
function draw(state: Active, op: DrawOp, impl: (...a: unknown[]) => unknown, thisArg: unknown, args: unknown[]): tf.Tensor {
  const run = (seed?: number): tf.Tensor => {
    if (seed !== undefined) args[SEED_ARG] = seed;
    return Reflect.apply(impl, thisArg, args) as tf.Tensor;
  };
  const { spec, target } = state;
  const ordinal = state.ordinal++;
  if (op.seeded(args[SEED_ARG])) return run(); // the user's fixed draw, as in tfjs
  if (spec.mode === 'same') return run(drawSeed(spec.seed, spec.call, ordinal, null));
  const t = target!;
  const base = spec.base ?? 0;
  if (!t.stack) return run(drawSeed(spec.seed, spec.call, ordinal, base + t.first));
  state.drawing = true;
  try {
    let values: tf.TypedArray | null = null;
    let shape: number[] = [];
    let dtype: tf.DataType = 'float32';
    for (let i = 0; i < t.n; i++) {
      const d = run(drawSeed(spec.seed, spec.call, ordinal, base + t.first + i));
      try {
        const v = d.dataSync() as tf.TypedArray;
        if (!values) {
          values = new (v.constructor as new (n: number) => tf.TypedArray)(t.n * v.length);
          [shape, dtype] = [d.shape, d.dtype];
        }
        values.set(v, i * v.length);
      } finally {
        d.dispose();
      }
    }
    return t.stack(values!, shape, dtype);
  } finally {
    state.drawing = false;
  }
}

/**
 * The jax-js baseline (`@jax-js/jax`, a devDependency): the seed model and the MNIST MLP written in
 * jax-js, with per-sample gradients as `jit(vmap(grad(loss)))` and a training step as `jit` of the
 * batch-mean loss and its gradient followed by a jitted SGD update — what a JAX user writes.
 *
 * Device: jax-js's `wasm`. Its wasm kernels run multi-threaded only where a global Web `Worker` and
 * `SharedArrayBuffer` exist; Node 20 has no global `Worker`, so here it runs on ONE thread (the main
 * thread). {@link jaxDevice} says which device and how many threads were used.
 *
 * jax-js counts references: every function takes ownership of its array arguments, so each call
 * passes `tree.ref(params)` and the inputs it creates, and reads results with `.data()` (which
 * consumes them). Inputs are converted from the same flat Float32Arrays the pool receives, inside the
 * timed call, as the pool copies them into shared memory inside its own.
 */
import { readFileSync } from 'node:fs';
import type * as jax from '@jax-js/jax';
import type { ModelDef } from '../src/model/define.js';

type Jax = typeof jax;
type Arr = jax.Array;
type Params = Record<string, Arr>;
/** One sample's loss from the parameters, its input `[...inputShape]` and target `[...targetShape]`. */
export type JaxLoss = (j: Jax, p: Params, x: Arr, y: Arr) => Arr;

let loaded: Promise<Jax> | null = null;

/** Loads jax-js and initialises its wasm device once (null if the package is not installed). */
export async function loadJax(): Promise<Jax | null> {
  loaded ??= import('@jax-js/jax').then(async (j) => {
    const ok = await j.init('wasm');
    if (!ok.includes('wasm')) throw new Error(`jax-js: wasm device unavailable (got ${ok.join(', ')})`);
    j.defaultDevice('wasm');
    return j;
  });
  try {
    return await loaded;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw e;
  }
}

/** The device the baseline runs on, and its threads (see the module comment). */
export function jaxDevice(): { device: string; threads: number; note: string } {
  const workers = typeof (globalThis as { Worker?: unknown }).Worker !== 'undefined' && typeof SharedArrayBuffer !== 'undefined';
  return {
    device: 'wasm',
    threads: workers ? 0 : 1,
    note: workers ? 'jax-js wasm with its own Web Worker pool' : `jax-js wasm, single-threaded: Node ${process.versions.node} has no global Web Worker, so jax-js starts no worker pool`,
  };
}

/** The installed jax-js version, from its package.json. */
export function jaxVersion(): string {
  try {
    const pkg = new URL('../package.json', import.meta.resolve('@jax-js/jax'));
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The workloads' single-sample losses, as the model modules define them (examples/seed-tensordot, examples/mnist). */
export const JAX_LOSSES: Record<'seed' | 'mlp', JaxLoss> = {
  // tensordot(x [3,2], W [3,2,1]) over both sample axes + b, then mean((pred - y)^2).
  seed: (j, p, x, y) => j.numpy.mean(j.numpy.square(j.numpy.tensordot(x, p.W!, [[0, 1], [0, 1]]).add(p.b!).sub(y))),
  // relu(x·W1 + b1)·W2 + b2, then -Σ y·logSoftmax(logits).
  mlp: (j, p, x, y) => {
    const h = j.nn.relu(j.numpy.dot(x, p.W1!).add(p.b1!));
    const logits = j.numpy.dot(h, p.W2!).add(p.b2!);
    return j.numpy.sum(y.mul(j.nn.logSoftmax(logits))).neg();
  },
};

/** The same losses written for a batch `[B, ...inputShape]`: the mean over the batch of the single-sample loss. */
export const JAX_BATCH_LOSSES: Record<'seed' | 'mlp', JaxLoss> = {
  seed: (j, p, x, y) => j.numpy.mean(j.numpy.square(j.numpy.tensordot(x, p.W!, [[1, 2], [0, 1]]).add(p.b!).sub(y))),
  mlp: (j, p, x, y) => {
    const h = j.nn.relu(j.numpy.matmul(x, p.W1!).add(p.b1!));
    const logits = j.numpy.matmul(h, p.W2!).add(p.b2!);
    return j.numpy.mean(j.numpy.sum(y.mul(j.nn.logSoftmax(logits, -1)), -1).neg());
  },
};

/** A workload in jax-js with the pool's parameters (layout order), for per-sample gradients and SGD steps. */
export class JaxBaseline {
  private params: Params;
  private readonly psgFn: (p: Params, x: Arr, y: Arr) => Params;
  private readonly stepFn: (p: Params, x: Arr, y: Arr) => [Arr, Params];
  private readonly updateFn: (p: Params, g: Params) => Params;

  constructor(
    private readonly j: Jax,
    private readonly def: ModelDef,
    init: Float32Array,
    loss: JaxLoss,
    batchLoss: JaxLoss,
    lr: number,
  ) {
    this.params = this.toParams(init);
    const one = (p: Params, x: Arr, y: Arr) => loss(j, p, x, y);
    this.psgFn = j.jit(j.vmap(j.grad(one), [null, 0, 0])) as never;
    // The batch-mean loss, written for a batch as a JAX user trains (`jit(valueAndGrad(mean(vmap(loss))))`
    // gives wrong weight gradients for the MLP in jax-js 0.1.25 — its bias gradients are right —
    // so the batched form is used; test/bench/jax.test.ts checks it against the tfjs loop).
    this.stepFn = j.jit(j.valueAndGrad((p: Params, x: Arr, y: Arr) => batchLoss(j, p, x, y))) as never;
    this.updateFn = j.jit((p: Params, g: Params) => j.tree.map((a: Arr, b: Arr) => a.sub(b.mul(lr)), p, g)) as never;
  }

  private toParams(flat: Float32Array): Params {
    const { names, shapes, offsets, sizes } = this.def.layout;
    return Object.fromEntries(names.map((n, k) => [n, this.j.numpy.array(flat.slice(offsets[k]!, offsets[k]! + sizes[k]!)).reshape([...shapes[k]!])]));
  }

  private batch(a: Float32Array, B: number, shape: readonly number[]): Arr {
    const n = shape.reduce((p, q) => p * q, 1);
    return this.j.numpy.array(a.subarray(0, B * n)).reshape([B, ...shape]);
  }

  /** Per-sample gradients of the first `B` samples, in layout order, `[B * size]` each (read back to JS). */
  async perSampleGrads(x: Float32Array, y: Float32Array, B: number): Promise<Float32Array[]> {
    const g = this.psgFn(this.j.tree.ref(this.params), this.batch(x, B, this.def.inputShape), this.batch(y, B, this.def.targetShape));
    return (await Promise.all(this.def.layout.names.map((n) => g[n]!.data()))) as Float32Array[];
  }

  /** One SGD step on the first `B` samples; returns the batch-mean loss before the update. */
  async step(x: Float32Array, y: Float32Array, B: number): Promise<number> {
    const [loss, grads] = this.stepFn(this.j.tree.ref(this.params), this.batch(x, B, this.def.inputShape), this.batch(y, B, this.def.targetShape));
    const next = this.updateFn(this.params, grads);
    await this.j.blockUntilReady(next);
    this.params = next;
    return (await loss.data())[0]!;
  }

  /** The current parameters, flat in layout order. */
  async flatParams(): Promise<Float32Array> {
    const parts = (await Promise.all(this.def.layout.names.map((n) => this.params[n]!.ref.data()))) as Float32Array[];
    const out = new Float32Array(this.def.layout.total);
    parts.forEach((p, k) => out.set(p, this.def.layout.offsets[k]!));
    return out;
  }

  dispose(): void {
    this.j.tree.dispose(this.params);
  }
}

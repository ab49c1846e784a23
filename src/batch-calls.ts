/**
 * The inference calls a pool and an ensemble pool share: the forward pass, the evaluation and the
 * per-sample gradients. Both run the same chunk ops; an ensemble's results carry a leading `[K]`
 * axis (member-major in shared memory: member k's block of every region comes k-th), a pool's do not.
 * `members` is that axis's length, or null for a single pool (no axis).
 */
import type { PoolCore } from './core.js';
import { errors } from './errors.js';
import { readBatch, type BatchInput, type NDArray } from './input.js';
import { checkSignal, type CallOptions } from './lifecycle.js';
import type { OutputOptions } from './results.js';
import { orderedSum } from './shared/reduce.js';
import { accuracy, METRICS, type Metric } from './train/metrics.js';
import { checkOptionsObject } from './validate.js';

/** A fresh copy of a shared-memory view, or the view itself with `copy: false`. */
const take = (view: Float32Array, o: OutputOptions): Float32Array => (o.copy === false ? view : view.slice());

const lead = (members: number | null): number[] => (members === null ? [] : [members]);

/** The forward pass of every member: `[(K,) B, ...outputShape]`. */
export async function predictCall(core: PoolCore, members: number | null, x: BatchInput, options: OutputOptions): Promise<NDArray> {
  const op = 'predict';
  core.assertOpen(op);
  checkOptionsObject(options, ['copy', 'signal']);
  const xs = readBatch('x', x, core.model.inputShape);
  const shape = [...lead(members), xs.batch, ...core.outputShape];
  return core.serial(op, async () => {
    if (xs.batch === 0) return { shape, data: new Float32Array(0) };
    const { pred } = await core.run('forward', core.plan(xs.batch), { x: xs.data }, op);
    return { shape, data: take(pred, options) };
  }, checkSignal(options.signal));
}

/** Each member's mean loss (and accuracy) over the batch: one entry per member (one for a pool). */
export async function evaluateCall(core: PoolCore, members: number | null, x: BatchInput, y: BatchInput, options: { metrics?: Metric[] } & CallOptions): Promise<{ loss: number[]; accuracy?: number[]; batch: number }> {
  const op = 'evaluate';
  const [xs, ys] = core.readXY(op, x, y);
  checkOptionsObject(options, ['metrics', 'signal']);
  const metrics = options.metrics ?? [];
  metrics.forEach((m, i) => {
    if (!METRICS.includes(m)) throw errors.invalidOption(`metrics[${i}]`, `one of ${METRICS.join(', ')}`, m);
  });
  const K = members ?? 1;
  return core.serial(op, async () => {
    const B = xs.batch;
    const each = (f: (k: number) => number) => Array.from({ length: K }, (_, k) => (B === 0 ? NaN : f(k)));
    const { pred, loss } = B > 0 ? await core.run('evaluate', core.plan(B), { x: xs.data, y: ys.data }, op) : { pred: new Float32Array(0), loss: new Float32Array(0) };
    const out = B * core.outputSize;
    return { loss: each((k) => orderedSum(loss.subarray(k * B, (k + 1) * B)) / B), batch: B, ...(metrics.includes('accuracy') ? { accuracy: each((k) => accuracy(pred.subarray(k * out, (k + 1) * out), ys.data, B)) } : {}) };
  }, checkSignal(options.signal));
}

/** Per-sample losses `[(K,) B]` and gradients `[(K,) B, ...paramShape]` of every member. */
export async function perSampleGradsCall<N extends string>(core: PoolCore, members: number | null, x: BatchInput, y: BatchInput, options: OutputOptions): Promise<{ losses: NDArray; grads: Record<N, NDArray> }> {
  const op = 'perSampleGrads';
  const [xs, ys] = core.readXY(op, x, y);
  checkOptionsObject(options, ['copy', 'signal']);
  const K = members ?? 1;
  const { names, shapes, sizes, offsets } = core.model.layout;
  return core.serial(op, async () => {
    const B = xs.batch;
    const { loss, psg } = B > 0 ? await core.run('perSampleGrads', core.plan(B), { x: xs.data, y: ys.data }, op) : { loss: new Float32Array(0), psg: new Float32Array(0) };
    const grads = {} as Record<N, NDArray>;
    names.forEach((n, p) => (grads[n as N] = { shape: [...lead(members), B, ...shapes[p]!], data: take(psg.subarray(K * B * offsets[p]!, K * B * (offsets[p]! + sizes[p]!)), options) }));
    return { losses: { shape: [...lead(members), B], data: take(loss, options) }, grads };
  }, checkSignal(options.signal));
}

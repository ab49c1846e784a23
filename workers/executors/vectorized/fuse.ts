/**
 * Peephole fusion of a recorded trace (trace.ts), before it is replayed: kernel pairs that the tfjs
 * gradient functions emit separately, rewritten as one kernel of the inner backend that gives the
 * same bits. Only replays run fused kernels; the first replay of a trace, and every 64th, is checked
 * byte for byte against the normal (unfused) path (replay.ts), so a fusion that changed a bit would
 * be dropped, never used.
 *
 * The rules, each one line of matching:
 * - `Multiply(dy, Step(x))` where the step is used by that product only (relu's gradient) →
 *   `GradpoolStepMultiply(x, dy)` (src/shared/kernels/step-multiply.ts);
 * - then `GradpoolStepMultiply(z, MaxPoolGrad(dy, input, output))` where the pool's gradient is used
 *   by that product only and its windows tile the input (relu, then a 2x2 max-pool) →
 *   `GradpoolMaxPoolGradStep(dy, input, output, z)` (src/shared/kernels/max-pool-grad-step.ts);
 * - `Add(Conv2D(x, filter), bias)` where the convolution is used by that add only and is one of a
 *   single input channel with a bias over its channels (a conv net's first layer) →
 *   `GradpoolConv2DBias(x, filter, bias)`, which also gives `Relu` of the sum when a Relu of it
 *   follows (src/shared/kernels/conv2d-bias.ts);
 * - last, runs of float32 pointwise steps over the same n values → one `GradpoolPointwise`
 *   (fuse-pointwise.ts).
 */
import type { In, Read, Step, Trace } from './trace.js';
import { MAX_POOL_GRAD_STEP, maxPoolGradStepFits } from '../../../src/shared/kernels/max-pool-grad-step.js';
import { STEP_MULTIPLY } from '../../../src/shared/kernels/step-multiply.js';
import { CONV2D_BIAS, conv2dBiasFits } from '../../../src/shared/kernels/conv2d-bias.js';
import { POINTWISE } from '../../../src/shared/kernels/pointwise.js';
import { fusePointwise } from './fuse-pointwise.js';

type KernelStep = Extract<Step, { op: 'kernel' }>;

const sameMeta = (a: In, b: { shape: number[]; dtype: string }) => a.dtype === b.dtype && a.shape.join() === b.shape.join();

/** How many times each slot is used: as a kernel input, a read or an export. */
function uses(steps: Step[], reads: Read[], exports: Trace['exports']): Map<number, number> {
  const n = new Map<number, number>();
  const use = (s: number) => n.set(s, (n.get(s) ?? 0) + 1);
  for (const st of steps) if (st.op === 'kernel') for (const i of st.inputs) if (i && i.src >= 0) use(i.src);
  reads.forEach((r) => use(r.slot));
  exports.forEach((e) => use(e.slot));
  return n;
}

/** `st` as `Step(x)` with alpha 0 on float32: its input; else null. */
function stepInput(st: Step | undefined): In | null {
  if (st?.op !== 'kernel' || st.kernel !== 'Step' || (st.attrs.alpha ?? 0) !== 0 || st.outs.length !== 1) return null;
  const x = st.inputs[0];
  return x && x.dtype === 'float32' && sameMeta(x, st.outs[0]!) ? x : null;
}

/** `st` as a float32 MaxPoolGrad: its inputs by name; else null. */
function poolGradInputs(st: Step | undefined): { dy: In; input: In; output: In; attrs: KernelStep['attrs'] } | null {
  if (st?.op !== 'kernel' || st.kernel !== 'MaxPoolGrad' || !st.names || st.outs.length !== 1) return null;
  const by = (k: string) => st.inputs[st.names!.indexOf(k)];
  const [dy, input, output] = [by('dy'), by('input'), by('output')];
  return dy && input && output && [dy, input, output].every((i) => i.dtype === 'float32') ? { dy, input, output, attrs: st.attrs } : null;
}

/**
 * Rewrites `steps` in place; `has(kernel)` says whether the inner backend has a fused kernel. The
 * replaced producer is left in place with no user: liveness (trace.ts) then skips it.
 */
export function fuse(steps: Step[], reads: Read[], exports: Trace['exports'], has: (kernel: string) => boolean): void {
  if (has(CONV2D_BIAS)) fuseConvBias(steps, reads, exports);
  if (has(STEP_MULTIPLY)) {
    fuseStepMultiply(steps, reads, exports);
    if (has(MAX_POOL_GRAD_STEP)) fusePoolGradStep(steps, reads, exports);
  }
  // Last, so that the rules above keep their pairs: a chain takes only what is left.
  if (has(POINTWISE)) fusePointwise(steps, uses(steps, reads, exports));
}

/** The slot → producing step index map of `steps`. */
function producers(steps: Step[]): Map<number, number> {
  const producer = new Map<number, number>();
  steps.forEach((st, i) => st.op === 'kernel' && st.outs.forEach((o) => producer.set(o.slot, i)));
  return producer;
}

/** The first rule: `Multiply(dy, Step(x))`, the step used by that product only, as one kernel. */
function fuseStepMultiply(steps: Step[], reads: Read[], exports: Trace['exports']): void {
  const count = uses(steps, reads, exports);
  const producer = producers(steps);
  steps.forEach((st, j) => {
    if (st.op !== 'kernel' || st.kernel !== 'Multiply' || st.inputs.length !== 2 || st.outs.length !== 1) return;
    for (const [m, d] of [[1, 0], [0, 1]] as const) {
      const mask = st.inputs[m];
      const dy = st.inputs[d];
      if (!mask || !dy || mask.src < 0 || count.get(mask.src) !== 1) continue;
      const x = stepInput(steps[producer.get(mask.src) ?? -1]);
      if (!x || !sameMeta(dy, x) || !sameMeta(dy, st.outs[0]!)) continue;
      const fused: KernelStep = { op: 'kernel', kernel: STEP_MULTIPLY, names: ['x', 'dy'], inputs: [x, dy], attrs: {}, outs: st.outs };
      steps[j] = fused;
      return;
    }
  });
}

/** The second rule: a max-pool's gradient feeding only a fused relu gradient joins it. */
function fusePoolGradStep(steps: Step[], reads: Read[], exports: Trace['exports']): void {
  const count = uses(steps, reads, exports);
  const producer = producers(steps);
  steps.forEach((st, j) => {
    if (st.op !== 'kernel' || st.kernel !== STEP_MULTIPLY) return;
    const [z, g] = st.inputs;
    if (!z || !g || g.src < 0 || count.get(g.src) !== 1) return;
    const pool = poolGradInputs(steps[producer.get(g.src) ?? -1]);
    if (!pool || !maxPoolGradStepFits(pool.input.shape, z.shape, pool.attrs)) return;
    steps[j] = { op: 'kernel', kernel: MAX_POOL_GRAD_STEP, names: ['dy', 'input', 'output', 'z'], inputs: [pool.dy, pool.input, pool.output, z], attrs: pool.attrs, outs: st.outs };
  });
}

/** The third rule: a one-channel convolution feeding only a bias add joins it, and so does a Relu of the sum. */
function fuseConvBias(steps: Step[], reads: Read[], exports: Trace['exports']): void {
  const count = uses(steps, reads, exports);
  const producer = producers(steps);
  steps.forEach((st, j) => {
    if (st.op !== 'kernel' || st.kernel !== 'Add' || st.inputs.length !== 2 || st.outs.length !== 1) return;
    const [sum, bias] = st.inputs; // the convolution first: the fused kernel adds in that order
    if (!sum || !bias || sum.src < 0 || count.get(sum.src) !== 1) return;
    const conv = steps[producer.get(sum.src) ?? -1];
    if (conv?.op !== 'kernel' || conv.kernel !== 'Conv2D' || !conv.names || conv.outs.length !== 1) return;
    const [x, filter] = ['x', 'filter'].map((k) => conv.inputs[conv.names!.indexOf(k)]);
    const z = st.outs[0]!;
    if (!x || !filter || !sameMeta(sum, z) || !conv2dBiasFits(x, filter, bias, conv.attrs)) return;
    const k = steps.findIndex((r, i) => i > j && r.op === 'kernel' && r.kernel === 'Relu' && r.outs.length === 1 && r.inputs[0]?.src === z.slot);
    const relu = k >= 0 ? (steps[k] as KernelStep) : null;
    steps[j] = { op: 'kernel', kernel: CONV2D_BIAS, names: ['x', 'filter', 'bias'], inputs: [x, filter, bias], attrs: { ...conv.attrs, relu: relu !== null }, outs: relu ? [z, relu.outs[0]!] : [z] };
    // The Relu's output now comes from the fused step: left with none, it is never live.
    if (relu) steps[k] = { ...relu, outs: [] };
  });
}

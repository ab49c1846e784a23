/**
 * The last rule of fuse.ts: runs of consecutive float32 pointwise steps over the same n values
 * (Add, Sub, Multiply, RealDiv and SquaredDifference whose operands have n values or one, and Means
 * over axes of total length 1), rewritten as one `GradpoolPointwise` step
 * (src/shared/kernels/pointwise.ts). A small model's loss and its gradient are such runs: in the seed
 * model's chunk, Add → SquaredDifference → Mean, then Sub → Multiply → Multiply, on an [n, 1] column.
 * The fused step takes the run's inputs from outside it. It gives every result that is used after the
 * run: by a later step, a read or an export. Results used only inside the run stay in registers.
 */
import * as tf from '@tensorflow/tfjs';
import { POINTWISE, type PointwiseOp, type PointwiseProgram, type Ref } from '../../../src/shared/kernels/pointwise.js';
import type { In, Step } from './trace.js';

type KernelStep = Extract<Step, { op: 'kernel' }>;

/** Bounds that keep the generated module's locals and parameters in one byte each. */
const MAX_STEPS = 32;
const MAX_INPUTS = 16;

const BINARY: Record<string, PointwiseOp> = { Add: 'Add', Sub: 'Sub', Multiply: 'Multiply', RealDiv: 'RealDiv', SquaredDifference: 'SquaredDifference' };
const size = (shape: readonly number[]) => tf.util.sizeFromShape(shape as number[]);

/** `st` as one pointwise step over `n` values: its op, operands and n; else null. */
function pointwise(st: Step): { op: PointwiseOp; args: In[]; n: number } | null {
  if (st.op !== 'kernel' || st.outs.length !== 1 || st.outs[0]!.dtype !== 'float32') return null;
  const n = size(st.outs[0]!.shape);
  const args = st.inputs.filter((i): i is In => i !== undefined);
  if (args.length !== st.inputs.length || args.some((a) => a.dtype !== 'float32')) return null;
  const op = BINARY[st.kernel];
  // Operands of n values or of one: then broadcasting only repeats single values, and every operand
  // of n values is laid out as the output is (their shapes differ at most by axes of length 1).
  if (op && args.length === 2 && args.every((a) => [1, n].includes(size(a.shape)))) return { op, args, n };
  if (st.kernel === 'Mean' && args.length === 1 && size(args[0]!.shape) === n) return { op: 'Mean1', args, n };
  return null;
}

/**
 * Rewrites `steps` in place; `count` is how often each slot is used in all (fuse.ts's `uses`). A run
 * may pass over writes (the constants a step needs are written just before it), never over another
 * kernel. The run's last step becomes the fused one; the others are left with no outputs, so
 * liveness (trace.ts) never runs them.
 */
export function fusePointwise(steps: Step[], count: Map<number, number>): void {
  for (let i = 0; i < steps.length; ) {
    const first = pointwise(steps[i]!);
    const members = [i];
    let j = i + 1;
    for (; first && j < steps.length && members.length < MAX_STEPS; j++) {
      if (steps[j]!.op === 'write') continue;
      if (pointwise(steps[j]!)?.n !== first.n) break;
      members.push(j);
    }
    if (members.length >= 2) fuseRun(steps, members, count);
    i = first ? members[members.length - 1]! + 1 : i + 1;
  }
}

/** Fuses the steps at `members` (a run that {@link fusePointwise} found), unless it has too many inputs. */
function fuseRun(steps: Step[], members: number[], count: Map<number, number>): void {
  const run = members.map((m) => steps[m] as KernelStep);
  const inputs: In[] = [];
  const producedAt = new Map<number, number>(); // slot → the step of the run that makes it
  const usedInside = new Map<number, number>();
  const program: PointwiseProgram = { steps: [], outs: [] };
  const ref = (a: In): Ref => {
    const t = a.src >= 0 ? producedAt.get(a.src) : undefined;
    if (t !== undefined) {
      usedInside.set(a.src, (usedInside.get(a.src) ?? 0) + 1);
      return { t };
    }
    let k = inputs.findIndex((x) => x.src === a.src && x.shape.join() === a.shape.join());
    if (k < 0) k = inputs.push(a) - 1;
    return { in: k };
  };
  run.forEach((st, t) => {
    const { op, args } = pointwise(st)!;
    program.steps.push({ op, args: args.map(ref) });
    producedAt.set(st.outs[0]!.slot, t);
  });
  if (inputs.length > MAX_INPUTS) return;
  const outs = run.flatMap((st, t) => {
    const o = st.outs[0]!;
    return (count.get(o.slot) ?? 0) > (usedInside.get(o.slot) ?? 0) ? [{ t, meta: o }] : [];
  });
  if (outs.length === 0) return; // nothing of it is used: liveness drops it as it is
  program.outs = outs.map((o) => ({ t: o.t, shape: o.meta.shape }));
  members.slice(0, -1).forEach((m) => (steps[m] = { ...(steps[m] as KernelStep), outs: [] }));
  steps[members[members.length - 1]!] = { op: 'kernel', kernel: POINTWISE, names: inputs.map((_, k) => `in${k}`), inputs, attrs: { program: JSON.stringify(program) }, outs: outs.map((o) => o.meta) };
}

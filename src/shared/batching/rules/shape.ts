/**
 * Rules for shape-manipulating kernels: reshapes are free views; the others shift their axis attributes
 * past the batch axis and batch every operand they combine.
 */
import * as tf from '@tensorflow/tfjs';
import type { Ctx } from '../context.js';
import { segmentSumByOneHot } from '../lazy.js';
import { inputList, normAxis, type BVal } from '../values.js';
import { BatchingRuleError } from '../errors.js';
import { defrule, MAX_INNER_RANK, type RuleConfig } from './families.js';

const one = (inputs: unknown): BVal => inputList(inputs as BVal[])[0]!;
const ones = (k: number) => new Array<number>(k).fill(1);

/**
 * PadV2 / MirrorPad with an unpadded batch axis in front. Above MAX_INNER_RANK, runs of adjacent
 * unpadded axes (the batch axis among them) are merged first, since tfjs-wasm's Pad is wrong on rank ≥ 7.
 */
const padded = (kernel: string) => (ctx: Ctx, inputs: unknown, attrs: tf.NamedAttrMap) => {
  const x = one(inputs);
  const shape = [ctx.n, ...ctx.shape(x)];
  const paddings = [[0, 0], ...(attrs.paddings as number[][])];
  if (shape.length <= MAX_INNER_RANK) return ctx.batched(ctx.call1(kernel, { x: x.info }, { ...attrs, paddings }));
  const merged: { size: number; pad: number[] }[] = [];
  shape.forEach((size, i) => {
    const pad = paddings[i]!;
    const last = merged[merged.length - 1];
    if (last && pad[0] === 0 && pad[1] === 0 && last.pad[0] === 0 && last.pad[1] === 0) last.size *= size;
    else merged.push({ size, pad: [pad[0]!, pad[1]!] });
  });
  if (merged.length > MAX_INNER_RANK)
    throw new BatchingRuleError(kernel, `vectorized: '${kernel}' pads ${merged.length - 1} of ${shape.length - 1} per-sample axes; with the batch axis that is rank ${merged.length}, which tfjs-wasm computes wrongly (rank ≤ ${MAX_INNER_RANK} only)`);
  const out = ctx.call1(kernel, { x: ctx.view(x.info, merged.map((m) => m.size)) }, { ...attrs, paddings: merged.map((m) => m.pad) });
  return ctx.batched(ctx.view(out, shape.map((d, i) => d + paddings[i]![0]! + paddings[i]![1]!)));
};

export const shapeRules: RuleConfig[] = [
  defrule('Reshape', (ctx, inputs, attrs) => {
    const x = one(inputs);
    const shape = tf.util.inferFromImplicitShape(attrs.shape as number[], tf.util.sizeFromShape(ctx.shape(x)));
    return ctx.batched(ctx.view(x.info, [ctx.n, ...shape]));
  }),

  defrule('ExpandDims', (ctx, inputs, attrs) => {
    const x = one(inputs);
    const s = ctx.shape(x);
    const dim = attrs.dim as number;
    const d = dim < 0 ? dim + s.length + 1 : dim;
    return ctx.batched(ctx.view(x.info, [ctx.n, ...s.slice(0, d), 1, ...s.slice(d)]));
  }),

  defrule('Transpose', (ctx, inputs, attrs) => ctx.batched(ctx.transpose(one(inputs).info, [0, ...(attrs.perm as number[]).map((p) => p + 1)]))),

  defrule('Tile', (ctx, inputs, attrs) => ctx.batched(ctx.call1('Tile', { x: one(inputs).info }, { reps: [1, ...(attrs.reps as number[])] }))),

  defrule('PadV2', padded('PadV2')),
  defrule('MirrorPad', padded('MirrorPad')),

  defrule('Slice', (ctx, inputs, attrs) => {
    const x = one(inputs);
    const [begin, size] = tf.slice_util.parseSliceParams({ shape: ctx.shape(x) } as tf.TensorInfo, attrs.begin as number[], attrs.size as number[]);
    return ctx.batched(ctx.call1('Slice', { x: x.info }, { begin: [0, ...begin], size: [ctx.n, ...size] }));
  }),

  // One more slice spec in front (the whole batch axis), so every bit mask shifts left by one; the batch
  // axis always takes its full range, hence the begin/end mask bit 0.
  defrule('StridedSlice', (ctx, inputs, attrs) => {
    const x = one(inputs);
    const begin = attrs.begin as number[];
    const m = (k: string) => ((attrs[k] as number | undefined) ?? 0) << 1;
    return ctx.batched(
      ctx.call1('StridedSlice', { x: x.info }, {
        begin: [0, ...begin],
        end: [0, ...(attrs.end as number[])],
        strides: [1, ...((attrs.strides as number[] | undefined) ?? ones(begin.length))],
        beginMask: m('beginMask') | 1,
        endMask: m('endMask') | 1,
        ellipsisMask: m('ellipsisMask'),
        newAxisMask: m('newAxisMask'),
        shrinkAxisMask: m('shrinkAxisMask'),
      }),
    );
  }),

  defrule('Concat', (ctx, inputs, attrs) => {
    const list = inputList(inputs);
    const axis = tf.util.parseAxisParam(attrs.axis as number, ctx.shape(list[0]!))[0]!;
    return ctx.batched(ctx.call1('Concat', list.map((v) => ctx.batch(v)), { axis: axis + 1 }));
  }),

  defrule('Pack', (ctx, inputs, attrs) => {
    const list = inputList(inputs);
    const axis = normAxis(attrs.axis as number, ctx.shape(list[0]!).length + 1);
    return ctx.batched(ctx.call1('Pack', list.map((v) => ctx.batch(v)), { axis: axis + 1 }));
  }),

  defrule('Unpack', (ctx, inputs, attrs) => {
    const x = one(inputs);
    const axis = normAxis(attrs.axis as number, ctx.shape(x).length);
    return (ctx.call('Unpack', { value: x.info }, { axis: axis + 1 }) as tf.TensorInfo[]).map((i) => ctx.batched(i));
  }),

  defrule('SplitV', (ctx, inputs, attrs) => {
    const x = one(inputs);
    const axis = tf.util.parseAxisParam(attrs.axis as number, ctx.shape(x))[0]!;
    return (ctx.call('SplitV', { x: x.info }, { ...attrs, axis: axis + 1 }) as tf.TensorInfo[]).map((i) => ctx.batched(i));
  }),

  /**
   * GatherV2. Batched x, fixed indices: gather one axis further in. Fixed x, batched indices: the batch
   * lands where the gathered axis was, so move it to the front. Both batched (or batchDims > 0): both
   * get the batch axis as one more batch dimension of the kernel.
   */
  defrule('GatherV2', (ctx, inputs, attrs) => {
    const { x, indices } = inputs as { x: BVal; indices: BVal };
    const sx = ctx.shape(x);
    const axis = tf.util.parseAxisParam(attrs.axis as number, sx)[0]!;
    let batchDims = (attrs.batchDims as number | undefined) ?? 0;
    if (batchDims < 0) batchDims += ctx.shape(indices).length;
    if (batchDims === 0 && !indices.batched) return ctx.batched(ctx.call1('GatherV2', { x: x.info, indices: indices.info }, { axis: axis + 1, batchDims: 0 }));
    if (batchDims === 0 && !x.batched) {
      const out = ctx.call1('GatherV2', { x: x.info, indices: indices.info }, { axis, batchDims: 0 });
      const perm = out.shape.map((_, i) => i).filter((i) => i !== axis);
      return ctx.batched(ctx.transpose(out, [axis, ...perm]));
    }
    return ctx.batched(ctx.call1('GatherV2', { x: ctx.batch(x), indices: ctx.batch(indices) }, { axis: axis + 1, batchDims: batchDims + 1 }));
  }),

  /**
   * UnsortedSegmentSum (what gather's gradient emits). Fixed segment ids: make the batch an inner axis
   * so the kernel sums every sample at once. Batched ids: a one-hot matrix per sample and one batched
   * matmul, `onehot(ids)^T · x`, which also drops negative ids as the kernel does.
   */
  defrule('UnsortedSegmentSum', (ctx, inputs, attrs) => {
    const { x, segmentIds } = inputs as { x: BVal; segmentIds: BVal };
    const numSegments = attrs.numSegments as number;
    const sx = ctx.shape(x);
    const sIds = ctx.shape(segmentIds);
    if (!segmentIds.batched) {
      const xb = ctx.batch(x);
      const k = sIds.length;
      const toBack = [...sx.slice(0, k).map((_, i) => i + 1), 0, ...sx.slice(k).map((_, i) => i + k + 1)];
      const out = ctx.call1('UnsortedSegmentSum', { x: ctx.transpose(xb, toBack), segmentIds: segmentIds.info }, { numSegments });
      return ctx.batched(ctx.transpose(out, [1, 0, ...sx.slice(k).map((_, i) => i + 2)]));
    }
    const k = tf.util.sizeFromShape(sIds);
    const rest = sx.slice(sIds.length);
    const ids = ctx.view(segmentIds.info, [ctx.n, k]);
    const xs = ctx.view(ctx.batch(x), [ctx.n, k, tf.util.sizeFromShape(rest)]);
    // Ghost clipping: an embedding's per-sample gradient stays its ids and rows (ghost/scatter.ts).
    const lazy = ctx.lazyGhost({ kind: 'scatter', ids, values: xs, segments: numSegments, shape: [ctx.n, numSegments, ...rest] });
    if (lazy) return lazy;
    const out = ctx.own(segmentSumByOneHot(ctx.vm, ids, xs, numSegments));
    return ctx.batched(ctx.view(out, [ctx.n, numSegments, ...rest]));
  }),
];

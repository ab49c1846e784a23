/**
 * Convolutions, pooling and other image kernels. These already have a batch axis of their own (tfjs
 * reshapes a single [H,W,C] image to [1,H,W,C] before calling them), so the vmap batch is folded into
 * it: [n, b, H, W, C] -> [n*b, H, W, C]. The per-sample filter gradient is the one kernel that really
 * differs per sample; it is computed as an im2col product (see Conv2DBackpropFilter below).
 */
import * as tf from '@tensorflow/tfjs';
import type { Ctx } from '../context.js';
import type { BVal } from '../values.js';
import { defrule, type RuleConfig } from './families.js';
import { PER_SAMPLE_FILTER_GRAD, perSampleFilterGradFits } from '../../kernels/per-sample-filter-grad.js';

/**
 * Folds the batch into the kernel's own batch axis for the inputs named in `folded`; inputs named in
 * `fixed` (filters, biases) must be unbatched, else the kernel runs per sample. `shapeAttr` names an
 * attribute holding an output shape whose batch entry must be scaled too (Conv2DBackpropInput).
 */
function deffolded(kernel: string, folded: string[], fixed: string[] = [], shapeAttr?: string): RuleConfig {
  return defrule(kernel, (ctx, inputs, attrs) => {
    const named = inputs as Record<string, BVal | undefined>;
    const batchedFixed = fixed.find((k) => named[k]?.batched);
    if (batchedFixed) return ctx.perSample(kernel, inputs, attrs, `a batched '${batchedFixed}'`);
    const n = ctx.n;
    const ins: tf.NamedTensorInfoMap = {};
    for (const [k, v] of Object.entries(named)) {
      if (!v) continue;
      if (!folded.includes(k)) {
        ins[k] = v.info;
        continue;
      }
      const s = ctx.shape(v);
      ins[k] = ctx.view(ctx.batch(v), [n * s[0]!, ...s.slice(1)]);
    }
    const a = shapeAttr ? { ...attrs, [shapeAttr]: (attrs[shapeAttr] as number[]).map((d, i) => (i === 0 ? n * d : d)) } : attrs;
    const unfold = (o: tf.TensorInfo) => ctx.batched(ctx.view(o, [n, o.shape[0]! / n, ...o.shape.slice(1)]));
    const out = ctx.call(kernel, ins, a);
    return Array.isArray(out) ? out.map(unfold) : unfold(out);
  });
}

/**
 * tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad reads dy at the images' batch offset
 * (`batchOffset + dyR * dyStrides[1]`), so its result is wrong for every batch entry after the first:
 * folding the samples into that axis would give them wrong gradients. On cpu it runs per sample, as
 * the loop executor does; other backends fold.
 */
function resizeNearestNeighborGrad(): RuleConfig {
  const folded = deffolded('ResizeNearestNeighborGrad', ['images', 'dy']).rule;
  return defrule('ResizeNearestNeighborGrad', (ctx, inputs, attrs, kernel) =>
    ctx.vm.innerName === 'cpu' ? ctx.perSample(kernel, inputs, attrs, "tfjs-backend-cpu's kernel (wrong for a batch > 1)") : folded(ctx, inputs, attrs, kernel),
  );
}

export const convRules: RuleConfig[] = [
  deffolded('Conv2D', ['x'], ['filter']),
  deffolded('Conv2DBackpropInput', ['dy'], ['filter'], 'inputShape'),
  deffolded('Conv3D', ['x'], ['filter']),
  deffolded('Conv3DBackpropInputV2', ['dy'], ['filter'], 'inputShape'),
  deffolded('DepthwiseConv2dNative', ['x'], ['filter']),
  deffolded('DepthwiseConv2dNativeBackpropInput', ['dy'], ['filter'], 'inputShape'),
  deffolded('FusedConv2D', ['x'], ['filter', 'bias', 'preluActivationWeights']),
  deffolded('FusedDepthwiseConv2D', ['x'], ['filter', 'bias', 'preluActivationWeights']),
  deffolded('Dilation2D', ['x'], ['filter']),
  deffolded('MaxPool', ['x']),
  deffolded('AvgPool', ['x']),
  deffolded('MaxPoolGrad', ['dy', 'input', 'output']),
  deffolded('AvgPoolGrad', ['dy', 'input']),
  deffolded('MaxPool3D', ['x']),
  deffolded('AvgPool3D', ['x']),
  deffolded('MaxPool3DGrad', ['dy', 'input', 'output']),
  deffolded('AvgPool3DGrad', ['dy', 'input']),
  deffolded('LRN', ['x']),
  deffolded('LRNGrad', ['x', 'y', 'dy']),
  deffolded('ResizeBilinear', ['images']),
  deffolded('ResizeBilinearGrad', ['images', 'dy']),
  deffolded('ResizeNearestNeighbor', ['images']),
  resizeNearestNeighborGrad(),
  deffolded('DepthToSpace', ['x']),
  deffolded('FlipLeftRight', ['image']),

  /**
   * Per-sample filter gradient of a 2-D convolution, dW_i = sum over (b, oh, ow) of
   * x_i[b, oh*s+kh, ow*s+kw, c] * dy_i[b, oh, ow, co]. The kernel itself sums over its batch axis, so
   * the samples must not sit there. On wasm, without padding and with CO a multiple of 16, gradpool's
   * SIMD kernel reads x and dy in place (src/shared/kernels/per-sample-filter-grad.ts); else two ways, both exact:
   * - depthwise (cpu): samples go into channels, x -> [b, H, W, n*C], and a depthwise filter gradient
   *   with channel multiplier CO pairs input channel (i, c) with output channels (i, c, :), i.e. with
   *   dy_i repeated over c. Work is the same as n separate kernels.
   * - im2col (any backend, e.g. wasm, which has neither filter-gradient kernel): the KH*KW strided
   *   windows of the zero-padded input, stacked to [n, b*OH*OW, KH*KW*C], times dy [n, b*OH*OW, CO] in
   *   one batched matmul. Memory: n*b*OH*OW*KH*KW*C floats of patches.
   * Registered even where the inner backend lacks the kernel: then it also serves unbatched calls (n=1).
   */
  defrule(
    'Conv2DBackpropFilter',
    (ctx, inputs, attrs) => {
      const { x, dy } = inputs as { x: BVal; dy: BVal };
      if (attrs.dataFormat === 'NCHW') return ctx.perSample('Conv2DBackpropFilter', inputs, attrs, 'NCHW data');
      const batched = x.batched || dy.batched;
      const n = batched ? ctx.n : 1;
      const xs = batched ? ctx.batch(x) : ctx.view(x.info, [1, ...x.info.shape]);
      const dys = batched ? ctx.batch(dy) : ctx.view(dy.info, [1, ...dy.info.shape]);
      // gradpool's SIMD kernel on wasm where it applies (no padding, CO a multiple of 16), else the routes below.
      const simd = route === 'auto' && tf.getKernel(PER_SAMPLE_FILTER_GRAD, ctx.vm.innerName) != null && perSampleFilterGradFits(ctx.vm.inner, xs.shape, dys.shape, attrs);
      const useDepthwise = route === 'auto' && tf.getKernel('DepthwiseConv2dNativeBackpropFilter', ctx.vm.innerName) != null;
      const g = simd ? ctx.call1(PER_SAMPLE_FILTER_GRAD, { x: xs, dy: dys }, attrs) : (useDepthwise ? depthwiseFilterGrad : im2colFilterGrad)(ctx, n, xs, dys, attrs);
      return { info: batched ? g : ctx.view(g, g.shape.slice(1)), batched };
    },
    { standalone: true },
  ),

  /**
   * Per-sample filter gradient of a depthwise convolution: samples go into channels (x -> [b, H, W, n*C],
   * dy -> [b, OH, OW, n*C*M], whose channel order (i, c, m) is the depthwise layout), so one depthwise
   * filter gradient gives [KH, KW, n*C, M].
   */
  defrule('DepthwiseConv2dNativeBackpropFilter', (ctx, inputs, attrs) => {
    const { x, dy } = inputs as { x: BVal; dy: BVal };
    const xs = ctx.batch(x);
    const dys = ctx.batch(dy);
    const n = ctx.n;
    const [, b, H, W, C] = xs.shape as [number, number, number, number, number];
    const [, , OH, OW, CM] = dys.shape as [number, number, number, number, number];
    const [KH, KW, , M] = attrs.filterShape as number[];
    const xc = ctx.view(ctx.transpose(xs, [1, 2, 3, 0, 4]), [b, H, W, n * C]);
    const dyc = ctx.view(ctx.transpose(dys, [1, 2, 3, 0, 4]), [b, OH, OW, n * CM]);
    const g = ctx.call1('DepthwiseConv2dNativeBackpropFilter', { x: xc, dy: dyc }, { ...attrs, filterShape: [KH!, KW!, n * C, M!] });
    return ctx.batched(ctx.transpose(ctx.view(g, [KH!, KW!, n, C, M!]), [2, 0, 1, 3, 4]));
  }),
];

type FilterGrad = (ctx: Ctx, n: number, x: tf.TensorInfo, dy: tf.TensorInfo, attrs: tf.NamedAttrMap) => tf.TensorInfo;

/** x [n, b, H, W, C], dy [n, b, OH, OW, CO] -> [n, KH, KW, C, CO] via one depthwise filter gradient. */
const depthwiseFilterGrad: FilterGrad = (ctx, n, x, dy, attrs) => {
  const [, b, H, W, C] = x.shape as [number, number, number, number, number];
  const [, , OH, OW, CO] = dy.shape as [number, number, number, number, number];
  const [KH, KW] = attrs.filterShape as number[];
  const xc = ctx.view(ctx.transpose(x, [1, 2, 3, 0, 4]), [b, H, W, n * C]);
  let dyc = ctx.transpose(dy, [1, 2, 3, 0, 4]); // [b, OH, OW, n, CO]
  if (C > 1) dyc = ctx.call1('Tile', { x: ctx.view(dyc, [b, OH, OW, n, 1, CO]) }, { reps: [1, 1, 1, 1, C, 1] });
  const g = ctx.call1('DepthwiseConv2dNativeBackpropFilter', { x: xc, dy: ctx.view(dyc, [b, OH, OW, n * C * CO]) }, {
    strides: attrs.strides, pad: attrs.pad, dimRoundingMode: attrs.dimRoundingMode, dilations: [1, 1], filterShape: [KH!, KW!, n * C, CO],
  });
  return ctx.transpose(ctx.view(g, [KH!, KW!, n, C, CO]), [2, 0, 1, 3, 4]);
};

/** x [n, b, H, W, C], dy [n, b, OH, OW, CO] -> [n, KH, KW, C, CO] via strided windows and one batched matmul. */
const im2colFilterGrad: FilterGrad = (ctx, n, x, dyIn, attrs) => {
  let dy = dyIn;
  const [, b, H, W, C] = x.shape as [number, number, number, number, number];
  const filterShape = attrs.filterShape as [number, number, number, number];
  const [KH, KW, , CO] = filterShape;
  // Output size as the tfjs kernels compute it. tfjs's conv2d gradient drops the forward's rounding
  // mode, so with 'ceil' dy can have a row/column more than this; like the kernels (and so the sample
  // loop), only the first OH x OW positions of dy count.
  const info = tf.backend_util.computeConv2DInfo(
    [n * b, H, W, C], filterShape, attrs.strides as number | [number, number], 1,
    attrs.pad as 'valid' | 'same' | number, attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { top, left } = info.padInfo;
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[2] !== OH || dy.shape[3] !== OW) dy = ctx.call1('Slice', { x: dy }, { begin: [0, 0, 0, 0, 0], size: [n, b, OH, OW, CO] });
  // Zero-pad so that every window lies inside the padded input.
  const bottom = Math.max(0, (OH - 1) * sh + KH - H - top);
  const right = Math.max(0, (OW - 1) * sw + KW - W - left);
  let xp = ctx.view(x, [n * b, H, W, C]);
  if (top || left || bottom || right)
    xp = ctx.call1('PadV2', { x: xp }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
  const windows: tf.TensorInfo[] = [];
  for (let kh = 0; kh < KH; kh++)
    for (let kw = 0; kw < KW; kw++)
      windows.push(
        ctx.call1('StridedSlice', { x: xp }, {
          begin: [0, kh, kw, 0], end: [n * b, kh + (OH - 1) * sh + 1, kw + (OW - 1) * sw + 1, C], strides: [1, sh, sw, 1],
          beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
        }),
      );
  const patches = ctx.call1('Pack', windows, { axis: 3 }); // [n*b, OH, OW, KH*KW, C]
  const rows = b * OH * OW;
  const g = ctx.call1('BatchMatMul', { a: ctx.view(patches, [n, rows, KH * KW * C]), b: ctx.view(dy, [n, rows, CO]) }, { transposeA: true, transposeB: false });
  return ctx.view(g, [n, ...filterShape]);
};

let route: 'auto' | 'im2col' = 'auto';

/** Test hook: 'im2col' forces the route wasm takes for per-sample filter gradients on any backend. */
export function setFilterGradRoute(r: 'auto' | 'im2col'): void {
  route = r;
}

/**
 * Convolutions, pooling and other image kernels. These already have a batch axis of their own (tfjs
 * reshapes a single [H,W,C] image to [1,H,W,C] before calling them), so the vmap batch is folded into
 * it: [n, b, H, W, C] -> [n*b, H, W, C]. The per-sample filter gradient is the one kernel that really
 * differs per sample; it is computed as an im2col product (see Conv2DBackpropFilter below).
 */
import * as tf from '@tensorflow/tfjs';
import type { BVal } from '../backend.js';
import type { Ctx } from '../context.js';
import { defrule } from '../table.js';

/**
 * Folds the batch into the kernel's own batch axis for the inputs named in `folded`; inputs named in
 * `fixed` (filters, biases) must be unbatched, else the kernel runs per sample. `shapeAttr` names an
 * attribute holding an output shape whose batch entry must be scaled too (Conv2DBackpropInput).
 */
function deffolded(kernel: string, folded: string[], fixed: string[] = [], shapeAttr?: string): void {
  defrule(kernel, (ctx, inputs, attrs) => {
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
    const unfold = (o: tf.TensorInfo) => ctx.b(ctx.view(o, [n, o.shape[0]! / n, ...o.shape.slice(1)]));
    const out = ctx.call(kernel, ins, a);
    return Array.isArray(out) ? out.map(unfold) : unfold(out);
  });
}

deffolded('Conv2D', ['x'], ['filter']);
deffolded('Conv2DBackpropInput', ['dy'], ['filter'], 'inputShape');
deffolded('Conv3D', ['x'], ['filter']);
deffolded('Conv3DBackpropInputV2', ['dy'], ['filter'], 'inputShape');
deffolded('DepthwiseConv2dNative', ['x'], ['filter']);
deffolded('DepthwiseConv2dNativeBackpropInput', ['dy'], ['filter'], 'inputShape');
deffolded('FusedConv2D', ['x'], ['filter', 'bias', 'preluActivationWeights']);
deffolded('FusedDepthwiseConv2D', ['x'], ['filter', 'bias', 'preluActivationWeights']);
deffolded('Dilation2D', ['x'], ['filter']);
deffolded('MaxPool', ['x']);
deffolded('AvgPool', ['x']);
deffolded('MaxPoolGrad', ['dy', 'input', 'output']);
deffolded('AvgPoolGrad', ['dy', 'input']);
deffolded('MaxPool3D', ['x']);
deffolded('AvgPool3D', ['x']);
deffolded('MaxPool3DGrad', ['dy', 'input', 'output']);
deffolded('AvgPool3DGrad', ['dy', 'input']);
deffolded('LRN', ['x']);
deffolded('LRNGrad', ['x', 'y', 'dy']);
deffolded('ResizeBilinear', ['images']);
deffolded('ResizeBilinearGrad', ['images', 'dy']);
deffolded('ResizeNearestNeighbor', ['images']);
deffolded('ResizeNearestNeighborGrad', ['images', 'dy']);
deffolded('DepthToSpace', ['x']);
deffolded('FlipLeftRight', ['image']);

/**
 * Per-sample filter gradient of a 2-D convolution, dW_i = sum over (b, oh, ow) of
 * patch_i[b, oh, ow, kh, kw, c] * dy_i[b, oh, ow, co]. The patches are KH*KW strided slices of the
 * zero-padded input (im2col), stacked to [n, b*OH*OW, KH*KW*C]; then one batched matmul with dy
 * [n, b*OH*OW, CO] gives [n, KH*KW*C, CO]. Memory: n*b*OH*OW*KH*KW*C floats for the patches.
 * NCHW data falls back to the per-sample kernel.
 */
defrule('Conv2DBackpropFilter', (ctx, inputs, attrs) => {
  const { x, dy } = inputs as { x: BVal; dy: BVal };
  if (attrs.dataFormat === 'NCHW') return ctx.perSample('Conv2DBackpropFilter', inputs, attrs, 'NCHW data');
  return im2colFilterGrad(ctx, x, dy, attrs);
});

function im2colFilterGrad(ctx: Ctx, x: BVal, dy: BVal, attrs: tf.NamedAttrMap): BVal {
  const n = ctx.n;
  const [b, H, W, C] = ctx.shape(x) as [number, number, number, number];
  const filterShape = attrs.filterShape as [number, number, number, number];
  const [KH, KW, , CO] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    [n * b, H, W, C], filterShape, attrs.strides as number | [number, number], 1,
    attrs.pad as 'valid' | 'same' | number, attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { top, left } = info.padInfo;
  const { outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  // Pad so that every window fits, including any extra rows a 'ceil' rounding mode asks for.
  const bottom = Math.max(0, (OH - 1) * sh + KH - H - top);
  const right = Math.max(0, (OW - 1) * sw + KW - W - left);
  let xp = ctx.view(ctx.batch(x), [n * b, H, W, C]);
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
  const g = ctx.call1('BatchMatMul', { a: ctx.view(patches, [n, rows, KH * KW * C]), b: ctx.view(ctx.batch(dy), [n, rows, CO]) }, { transposeA: true, transposeB: false });
  return ctx.b(ctx.view(g, [n, ...filterShape]));
}

/**
 * Matrix products. The common cases of per-sample models fold the batch into matrix rows, so a dense
 * layer over n samples is ONE [n*rows, K] x [K, N] product, not n small ones.
 */
import * as tf from '@tensorflow/tfjs';
import { broadcastShapes, gramPays, type BVal } from '../values.js';
import type { Ctx } from '../context.js';
import { defrule, type RuleConfig } from './families.js';

const swapLast2 = (rank: number) => [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];

const ACTIVATIONS: Record<string, string> = { relu: 'Relu', relu6: 'Relu6', elu: 'Elu', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu', prelu: 'Prelu' };

/**
 * Ghost clipping (VmapBackend.ghost): a per-sample product aᵢ'ᵀ·bᵢ' of two batched matrices — a dense
 * layer's weight gradient xᵀ·dy over its T rows — kept as its operands A [n, T, M] and B [n, T, P]
 * when the Gram form pays (values.ts gramPays), else null (the product is computed as usual).
 */
function ghostGram(ctx: Ctx, a: BVal, b: BVal, tA: boolean, tB: boolean): BVal | null {
  if (!ctx.vm.ghost || ctx.depth !== 1) return null;
  const sa = ctx.shape(a);
  const sb = ctx.shape(b);
  const [T, M] = tA ? [sa[0]!, sa[1]!] : [sa[1]!, sa[0]!];
  const P = tB ? sb[0]! : sb[1]!;
  if (!gramPays(T, M, P)) return null;
  // Rows of the contraction first; a transpose with T = 1 is a free view.
  const rowsFirst = (v: BVal, already: boolean, cols: number) => (already ? v.info : T === 1 ? ctx.view(v.info, [ctx.n, 1, cols]) : ctx.transpose(v.info, [0, 2, 1]));
  return ctx.lazyGhost({ kind: 'gram', a: rowsFirst(a, tA, M), b: rowsFirst(b, !tB, P), shape: [ctx.n, M, P] });
}

export const linalgRules: RuleConfig[] = [
  defrule('BatchMatMul', (ctx, inputs, attrs) => {
    const { a, b } = inputs as { a: BVal; b: BVal };
    const tA = !!attrs.transposeA;
    const tB = !!attrs.transposeB;
    const sa = ctx.shape(a);
    const sb = ctx.shape(b);
    const n = ctx.n;
    // Batched activations times a fixed matrix (forward of a dense layer): fold n and a's outer dims
    // into the rows of one 2-D product.
    if (a.batched && !b.batched && sb.length === 2) {
      const at = tA ? ctx.transpose(a.info, swapLast2(sa.length + 1)) : a.info;
      const rowsShape = tA ? [...sa.slice(0, -2), sa[sa.length - 1]!] : sa.slice(0, -1);
      const K = tA ? sa[sa.length - 2]! : sa[sa.length - 1]!;
      const rows = n * tf.util.sizeFromShape(rowsShape);
      // tfjs-wasm runs a transposeB product off XNNPACK, ~10x slower (4.6 ms for a dense layer's input
      // gradient [128,10]x[2704,10]^T): transpose the small fixed matrix instead.
      const bt = tB && ctx.vm.innerName === 'wasm' ? ctx.transpose(b.info, [1, 0]) : b.info;
      const out = ctx.call1('BatchMatMul', { a: ctx.view(at, [rows, K]), b: bt }, { transposeA: false, transposeB: tB && bt === b.info });
      return ctx.batched(ctx.view(out, [n, ...rowsShape, out.shape[1]!]));
    }
    // Fixed matrix times batched values: a·b_i = (b_i^T·a^T)^T, which is the case above.
    if (!a.batched && b.batched && sa.length === 2) {
      const t = ctx.apply1('BatchMatMul', { a: b, b: a }, { transposeA: !tB, transposeB: !tA });
      return ctx.batched(ctx.transpose(t.info, swapLast2(t.info.shape.length)));
    }
    // General case (e.g. both batched, as in the weight gradient x^T·dy): broadcast the outer dims per
    // sample and run one batched product over n * outer.
    const outer = broadcastShapes([sa.slice(0, -2), sb.slice(0, -2)]);
    const rows = n * tf.util.sizeFromShape(outer);
    const flat = (v: BVal, s: number[]) => {
      const full = [...outer, ...s.slice(-2)];
      return ctx.view(ctx.broadcastTo(v, full), [rows, ...s.slice(-2)]);
    };
    const K = tA ? sa[sa.length - 2]! : sa[sa.length - 1]!;
    const gram = rows === n && sa.length === 2 && sb.length === 2 ? ghostGram(ctx, a, b, tA, tB) : null;
    if (gram) return gram;
    if (K === 1) {
      // A contraction of length 1 is an outer product — every dense layer's per-sample weight gradient
      // x_i^T·dy_i. With K = 1 a transpose of the last two axes is a pure reshape, so both operands are views.
      const M = tA ? sa[sa.length - 1]! : sa[sa.length - 2]!;
      const P = tB ? sb[sb.length - 2]! : sb[sb.length - 1]!;
      const av = ctx.view(flat(a, sa), [rows, M, 1]);
      const bv = ctx.view(flat(b, sb), [rows, 1, P]);
      // Training wants only the batch sum of this (a weight gradient): keep it unmultiplied.
      const lazy = rows === n ? ctx.lazyOuter(av, bv, [n, M, P]) : null;
      if (lazy) return lazy;
      // tfjs-wasm's BatchMatMul takes ~30 ms for a [64,784]x[64,128] batch of these; a broadcasting
      // Multiply gives the same bits in ~1.5 ms (on cpu the Multiply is the slow one).
      if (ctx.vm.innerName === 'wasm') return ctx.batched(ctx.view(ctx.call1('Multiply', { a: av, b: bv }), [n, ...outer, M, P]));
    }
    const out = ctx.call1('BatchMatMul', { a: flat(a, sa), b: flat(b, sb) }, { transposeA: tA, transposeB: tB });
    return ctx.batched(ctx.view(out, [n, ...outer, ...out.shape.slice(1)]));
  }),

  /** _FusedMatMul (tf.fused.matMul): spelled out as matmul, bias add and activation, each batched. */
  defrule('_FusedMatMul', (ctx, inputs, attrs) => {
    const { a, b, bias, preluActivationWeights } = inputs as { a: BVal; b: BVal; bias?: BVal; preluActivationWeights?: BVal };
    let out = ctx.apply1('BatchMatMul', { a, b }, { transposeA: attrs.transposeA, transposeB: attrs.transposeB });
    if (bias) out = ctx.apply1('Add', { a: out, b: bias });
    const act = (attrs.activation as string | undefined) ?? 'linear';
    if (act === 'linear') return out;
    const kernel = ACTIVATIONS[act];
    if (!kernel) return ctx.perSample('_FusedMatMul', inputs, attrs, `activation '${act}'`);
    if (kernel === 'Prelu') return ctx.apply1('Prelu', { x: out, alpha: preluActivationWeights! });
    return ctx.apply1(kernel, { x: out }, kernel === 'LeakyRelu' ? { alpha: attrs.leakyreluAlpha as number } : {});
  }),
];

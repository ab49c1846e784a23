/**
 * The ghost-norm rule table, keyed by kernel (as JAX's batching.py keys its rules; a kernel not in
 * it has no rule, and the caller names it): for a parameter used by a kernel's input, the rule that
 * gives its per-sample gradient norm in a ghost-clipped step, and the cost figures behind the form.
 *
 * - dense (BatchMatMul, _FusedMatMul; tensordot is a matMul between reshapes): T rows contracted in
 *   the weight gradient; Gram form when 2T² < M·P (mixed ghost clipping, Bu et al. 2022), else the
 *   per-sample gradient. T = 1 is the outer product aᵢᵀbᵢ, norm ‖aᵢ‖·‖bᵢ‖.
 * - embedding (GatherV2 of the table): the token ids and output-gradient rows (scatter form).
 * - conv2d, depthwise conv: the per-sample filter gradient (K·K·Cin·Cout values) is the literature's
 *   choice: the Gram over T output positions would be 2T² values.
 * - bias (Add, Sub, a fused op's bias), scale (Multiply by a broadcast parameter), layer-norm
 *   (FusedBatchNorm's scale and offset): per-sample gradients of the parameter's own size, as
 *   Opacus computes them.
 * Everything else — e.g. `tf.mul(x, w)` with w as large as x, or a parameter fed through an
 * activation — has no rule.
 */
import type * as tf from '@tensorflow/tfjs';
import { gramPays } from '../../../../src/shared/batching/values.js';

/** A parameter's use: the kernel, the input name it comes in by, the kernel's inputs and outputs (per-sample shapes). */
export interface Use {
  kernel: string;
  input: string;
  inputs: Record<string, tf.Tensor | undefined>;
  outputs: tf.Tensor[];
}

/** What a rule says about one use: its name and the form the cost rule picks, with the figures. */
export interface Verdict {
  rule: string;
  gram?: boolean;
  detail: string;
}

type GhostRule = (u: Use) => Verdict | null;

const size = (t: tf.Tensor | undefined) => (t ? t.size : 0);

/** A parameter of the weight operand of a matrix product: T, M and P from the shapes. */
const dense: GhostRule = (u) => {
  const w = u.inputs[u.input]!;
  const other = u.inputs[u.input === 'a' ? 'b' : 'a'];
  if (w.rank !== 2 || !other) return { rule: 'dense', detail: 'per-sample gradient (a batched product)' };
  // The contraction axis of the weight: its rows as `b` of a·b, its columns as `a` (either way the
  // other operand has T·K values, T the positions).
  const K = w.shape[u.input === 'b' ? 0 : 1]!;
  const T = other.size / K;
  const MP = w.size;
  if (T === 1) return { rule: 'dense', gram: true, detail: `outer product over 1 position (2·T² = 2 < M·P = ${MP})` };
  return gramPays(T, MP, 1)
    ? { rule: 'dense', gram: true, detail: `Gram over ${T} positions (2·T² = ${2 * T * T} < M·P = ${MP})` }
    : { rule: 'dense', detail: `per-sample gradient over ${T} positions (2·T² = ${2 * T * T} ≥ M·P = ${MP})` };
};

const bias: GhostRule = (u) => ({ rule: 'bias', detail: `per-sample gradient (${size(u.inputs[u.input])} values)` });

/** A conv filter: materialised per sample, the explicit choice (filter size against the Gram's 2T²). */
const filter =
  (rule: string): GhostRule =>
  (u) => {
    const F = size(u.inputs[u.input]);
    const out = u.outputs[0]!;
    const T = out.size / out.shape[out.rank - 1]!;
    return { rule, detail: `per-sample filter gradient (${F} values; the Gram over ${T} output positions would be 2·T² = ${2 * T * T})` };
  };

/** A fused op (matmul or conv, bias, activation): its bias is a bias; a PReLU weight has no rule. */
const fused =
  (main: GhostRule): GhostRule =>
  (u) => (u.input === 'bias' ? bias(u) : u.input === 'preluActivationWeights' ? null : main(u));

/** Multiply by a parameter broadcast over positions (a layer-norm scale); as large as the other operand: no rule. */
const scale: GhostRule = (u) => {
  const other = u.inputs[u.input === 'a' ? 'b' : 'a'];
  return other && size(u.inputs[u.input]) < other.size ? { rule: 'scale', detail: `per-sample gradient (${size(u.inputs[u.input])} values, broadcast over ${other.size / size(u.inputs[u.input])} positions)` } : null;
};

const RULES: Record<string, GhostRule> = {
  BatchMatMul: dense,
  _FusedMatMul: fused(dense),
  Conv2D: filter('conv2d'),
  FusedConv2D: fused(filter('conv2d')),
  DepthwiseConv2dNative: filter('depthwise conv'),
  FusedDepthwiseConv2D: fused(filter('depthwise conv')),
  GatherV2: (u) => (u.input === 'x' ? { rule: 'embedding', detail: `token ids and gradient rows (never the [${u.inputs.x!.shape}] per-sample gradient)` } : null),
  Add: bias,
  Sub: bias,
  Multiply: scale,
  FusedBatchNorm: (u) => (u.input === 'scale' || u.input === 'offset' ? { rule: 'layer-norm', detail: `per-sample ${u.input} gradient (${size(u.inputs[u.input])} values)` } : null),
};

/** The verdict for one use, or null when its kernel (or this input of it) has no ghost-norm rule. */
export const ghostRule = (u: Use): Verdict | null => RULES[u.kernel]?.(u) ?? null;

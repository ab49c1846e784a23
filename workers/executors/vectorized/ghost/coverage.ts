/**
 * Which ghost-norm rule each parameter gets, read off the forward pass's tape: the engine records
 * every kernel with its input tensors, so following each parameter through view-like kernels
 * (Identity, Reshape, Transpose, a same-dtype Cast, the engine's clones) finds the kernels that use
 * it, and the rule table (rules.ts) says whether each has a rule. Run once, by the creation probe.
 */
import * as tf from '@tensorflow/tfjs';
import type { TapeNode } from '../../../../src/shared/batching/engine.js';
import type { GhostCoverage, GhostForm, GhostMissing, GhostParam } from '../../../../src/shared/ghost-coverage.js';
import { ghostRule, type Use } from './rules.js';

const VIEWS = new Set(['Identity', 'Reshape', 'Transpose']);

/**
 * Each parameter's uses, in tape order. `isKernel` tells kernels from the engine's clones of saved
 * tensors, which it records under the scope's name (a clone is a view).
 */
export function parameterUses(tape: readonly TapeNode[], params: readonly tf.Tensor[], isKernel: (name: string) => boolean): Use[][] {
  const owner = new Map<number, number>(params.map((p, i) => [p.id, i]));
  const uses = params.map((): Use[] => []);
  for (const node of tape)
    for (const [input, t] of Object.entries(node.inputs)) {
      const p = t ? owner.get(t.id) : undefined;
      if (p === undefined) continue;
      const out = node.outputs[0];
      const view = !isKernel(node.kernelName) || VIEWS.has(node.kernelName) || (node.kernelName === 'Cast' && out?.dtype === t!.dtype);
      if (view && out) owner.set(out.id, p);
      else uses[p]!.push({ kernel: node.kernelName, input, inputs: node.inputs, outputs: node.outputs });
    }
  return uses;
}

/**
 * The coverage of a model: per parameter (by `names`), its rule and the form its gradient actually
 * came out in (`forms`, from a ghost pass), and every use without a rule.
 */
export function coverageOf(names: readonly string[], uses: readonly Use[][], forms: readonly GhostForm[]): GhostCoverage {
  const params: GhostParam[] = [];
  const missing: GhostMissing[] = [];
  names.forEach((param, p) => {
    const verdicts = uses[p]!.map((u) => ({ u, v: ghostRule(u) }));
    for (const { u, v } of verdicts) if (!v) missing.push({ param, kernel: u.kernel });
    const known = verdicts.flatMap(({ v }) => (v ? [v] : []));
    if (known.length !== verdicts.length) return;
    const form = forms[p]!;
    if (known.length === 1) {
      const v = known[0]!;
      // The form the gradient came out in is the truth; the rule's figures say why.
      const detail = v.gram && form === 'per-sample' ? `per-sample gradient (${v.detail}, but its gradient was combined with another before reaching the parameter)` : v.detail;
      params.push({ param, rule: v.rule, form, detail });
    } else params.push({ param, rule: known.map((v) => v.rule).join(' + '), form, detail: `per-sample gradient (used by ${known.length} ops, whose contributions are summed)` });
  });
  return { params, missing };
}

/**
 * What ghost clipping can do for a model, as the creation probe finds it (workers/executors/vectorized/
 * ghost/coverage.ts) and the coordinator decides with it (src/train/clipping.ts): per parameter, the
 * rule of the op that uses it and the form its per-sample gradient takes; and every parameter whose
 * gradient reaches it through an op with no ghost-norm rule.
 */

/** How a parameter's per-sample gradient norm is read in a ghost-clipped step. */
export type GhostForm = 'gram' | 'scatter' | 'per-sample';

/** One parameter's ghost rule and form: `detail` says why (the cost rule's figures). */
export interface GhostParam {
  param: string;
  /** The rule of the op using it: 'dense', 'embedding', 'conv2d', 'depthwise conv', 'bias', 'scale', 'layer-norm'. */
  rule: string;
  form: GhostForm;
  detail: string;
}

/** A parameter used by an op (a kernel) that has no ghost-norm rule. */
export interface GhostMissing {
  param: string;
  kernel: string;
}

export interface GhostCoverage {
  params: GhostParam[];
  missing: GhostMissing[];
}

/** `W: dense, Gram (…)` for each parameter, in layout order: the choice per parameter, for pool.stats(). */
export const coverageSummary = (c: GhostCoverage): Record<string, string> => Object.fromEntries(c.params.map((p) => [p.param, `${p.rule}: ${p.detail}`]));

/** The first missing rule, as a sentence: "parameter 'w' reaches the loss through kernel 'Multiply', which has no ghost-norm rule". */
export const missingRule = (m: GhostMissing): string => `parameter '${m.param}' is used by kernel '${m.kernel}', which has no ghost-norm rule`;

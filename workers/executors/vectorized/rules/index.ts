/**
 * The batching-rule table. Every rule file exports an array of configs and this file lists them all,
 * explicitly (as tfjs-core's register_all_gradients.ts lists its gradient configs): no rule is added by
 * importing a module for its side effects, and a kernel listed twice is an error, not a silent override.
 * A kernel without a rule here runs through the per-sample fallback (see context.ts).
 */
import type { Rule, RuleTable } from '../context.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import type { RuleConfig } from './families.js';
import { linalgRules } from './linalg.js';
import { shapeRules } from './shape.js';

const ALL_RULES: readonly (readonly RuleConfig[])[] = [elementwiseRules, shapeRules, linalgRules, convRules];

const rules = new Map<string, Rule>();
const standalone = new Set<string>();
for (const { kernel, rule, standalone: own } of ALL_RULES.flat()) {
  if (rules.has(kernel)) throw new Error(`vectorized: two batching rules for kernel '${kernel}'`);
  rules.set(kernel, rule);
  if (own) standalone.add(kernel);
}

/** kernel name -> batching rule. */
export const RULES: ReadonlyMap<string, Rule> = rules;
/** Kernels registered even where the inner backend lacks them (see RuleConfig.standalone). */
export const STANDALONE: ReadonlySet<string> = standalone;
/** The table as kernel scopes consult it (handed to `dispatch`). */
export const TABLE: RuleTable = { rules: RULES, standalone: STANDALONE };

/**
 * Test hook: runs `fn` with the rules for `kernels` removed, so the same computation goes through the
 * per-sample fallback (to test the fallback, or to cross-check a rule against it).
 */
export function withoutRules<T>(kernels: string[], fn: () => T): T {
  const saved = kernels.map((k) => [k, rules.get(k)] as const);
  for (const k of kernels) rules.delete(k);
  try {
    return fn();
  } finally {
    for (const [k, r] of saved) if (r) rules.set(k, r);
  }
}

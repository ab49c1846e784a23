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
 * Test hook: runs `fn` with the rules of `overrides` replaced (`null` removes a rule, so the same
 * computation goes through the per-sample fallback), restoring the table afterwards.
 */
export function withRules<T>(overrides: Record<string, Rule | null>, fn: () => T): T {
  const saved = Object.keys(overrides).map((k) => [k, rules.get(k)] as const);
  for (const [k, r] of Object.entries(overrides)) r ? rules.set(k, r) : rules.delete(k);
  try {
    return fn();
  } finally {
    for (const [k, r] of saved) r ? rules.set(k, r) : rules.delete(k);
  }
}

/** {@link withRules} removing the rules of `kernels`: to test the fallback, or cross-check a rule against it. */
export const withoutRules = <T>(kernels: string[], fn: () => T): T => withRules(Object.fromEntries(kernels.map((k) => [k, null])), fn);

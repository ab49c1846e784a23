/**
 * What every transform does with its options and its call's arguments before differentiating:
 * validate `argnums` / `hasAux`, pick the differentiated arguments, flatten them, and substitute
 * stand-ins (clones) for their tensors, so the transforms themselves only deal with flat lists.
 */
import * as tf from '@tensorflow/tfjs';
import { errors, raw } from '../errors.js';
import { flatten, requireFloat, unflatten, type Structure } from '../shared/pytree.js';
import { standIns } from './tape.js';

/** Which arguments to differentiate with respect to: one index, or several (then results are a tuple). */
export type Argnums = number | readonly number[];

/** The options of grad, valueAndGrad, jacrev and jacfwd (torch.func's `argnums`, `has_aux`). */
export interface TransformOptions<N extends Argnums = Argnums, H extends boolean = boolean> {
  /** The argument index or indices to differentiate with respect to (default 0). */
  argnums?: N;
  /** f returns `[output, aux]`; aux is returned alongside, not differentiated (default false). */
  hasAux?: H;
}

export interface Parsed {
  readonly argnums: Argnums;
  readonly hasAux: boolean;
}

/** Validates f and the options when the transform is made, so a mistake surfaces where it was written. */
export function parseOptions(f: unknown, options: unknown, allowed: readonly string[] = ['argnums', 'hasAux']): Parsed {
  if (typeof f !== 'function') throw errors.type('f', 'a function', f);
  if (options === undefined) return { argnums: 0, hasAux: false };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw errors.type('options', 'an object', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!allowed.includes(key)) throw errors.unknownField(`options.${key}`, allowed);
  const argnums = o.argnums ?? 0;
  const isIndex = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const argnumsOk = isIndex(argnums) || (Array.isArray(argnums) && argnums.length > 0 && argnums.every(isIndex) && new Set(argnums).size === argnums.length);
  if (!argnumsOk) throw errors.invalidOption('argnums', 'a non-negative integer or a non-empty array of distinct non-negative integers', argnums);
  const hasAux = o.hasAux ?? false;
  if (typeof hasAux !== 'boolean') throw errors.invalidOption('hasAux', 'a boolean', hasAux);
  return { argnums: argnums as Argnums, hasAux };
}

/** The differentiated arguments of one call, flattened, with the stand-ins f is called with. */
export interface Selection {
  /** The argument list f is called with: the caller's, with stand-ins in the differentiated positions. */
  readonly callArgs: unknown[];
  /** Per differentiated argument (in argnums order): its structure and its stand-in leaves. */
  readonly parts: readonly { readonly structure: Structure; readonly leaves: readonly tf.Tensor[] }[];
  /** All stand-in leaves, parts concatenated: what one backprop differentiates with respect to. */
  readonly leaves: readonly tf.Tensor[];
}

/** Checks argnums against this call's arguments; differentiated arguments must be trees of float32 tensors. */
export function checkArgs(args: readonly unknown[], argnums: Argnums): { index: number; structure: Structure; leaves: tf.Tensor[] }[] {
  const list = typeof argnums === 'number' ? [argnums] : argnums;
  return list.map((index) => {
    if (index >= args.length) {
      throw errors.invalidOption('argnums', `indices below ${args.length} (f was called with ${args.length} argument${args.length === 1 ? '' : 's'})`, argnums);
    }
    const { leaves, structure } = flatten(args[index], `args[${index}]`);
    requireFloat(leaves, structure, `args[${index}]`);
    return { index, structure, leaves };
  });
}

/** Substitutes stand-ins for the differentiated arguments' tensors. Call it inside `taped`. */
export function select(args: readonly unknown[], checked: ReturnType<typeof checkArgs>): Selection {
  const callArgs = [...args];
  const parts = checked.map(({ index, structure, leaves }) => {
    const fresh = standIns(leaves);
    callArgs[index] = unflatten(structure, fresh);
    return { structure, leaves: fresh };
  });
  return { callArgs, parts, leaves: parts.flatMap((p) => p.leaves) };
}

/** Splits a flat list (one entry per stand-in leaf) back into the differentiated arguments' trees: one tree, or a tuple for an array argnums. */
export function regroup(argnums: Argnums, sel: Selection, flat: readonly unknown[]): unknown {
  let at = 0;
  const trees = sel.parts.map((p) => {
    const tree = unflatten(p.structure, flat.slice(at, at + p.leaves.length));
    at += p.leaves.length;
    return tree;
  });
  return typeof argnums === 'number' ? trees[0] : trees;
}

/** With hasAux, f must return `[output, aux]`. */
export function splitAux(result: unknown, hasAux: boolean): [unknown, unknown] {
  if (!hasAux) return [result, undefined];
  if (!Array.isArray(result) || result.length !== 2) {
    const got = result instanceof tf.Tensor ? raw('a tf.Tensor') : Array.isArray(result) ? raw(`an array of length ${result.length}`) : result;
    throw errors.type("f's output", 'an array [output, aux] (hasAux is true)', got);
  }
  return [result[0], result[1]];
}

/** f's output (for jacobians, vjp and jvp): a tree of float32 tensors, flattened. */
export function outputLeaves(out: unknown): { leaves: tf.Tensor[]; structure: Structure } {
  const flat = flatten(out, "f's output");
  requireFloat(flat.leaves, flat.structure, "f's output");
  return flat;
}

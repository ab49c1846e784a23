/**
 * `inAxes` / `outAxes` of vmap: a number, `null`, or a tree of those that is a prefix of the
 * arguments' (or the output's) tree, as in JAX. A number or null at a node applies to every leaf
 * below it; errors name the spec's path and the tree's.
 */
import { errors, fmtShape, raw } from '../errors.js';
import { childPath, type Structure } from '../shared/pytree.js';

/** Where the batch axis of a leaf is (negative counts from the end), or `null`: not batched. */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v));

/**
 * The axis of every leaf of `structure`, in `flatten`'s order, read off `spec` (a prefix of the tree).
 * `specPath` names the spec (`inAxes[1]`), `treePath` the tree (`args[1]`).
 */
export function leafAxes(structure: Structure, spec: unknown, specPath: string, treePath: string): (number | null)[] {
  const out: (number | null)[] = [];
  const walk = (s: Structure, sp: unknown, at: string, tp: string): void => {
    if (sp === null || typeof sp === 'number') {
      if (typeof sp === 'number' && !Number.isInteger(sp)) throw errors.invalidOption(at, 'an integer axis or null', sp);
      const count = (x: Structure): number => (x.kind === 'leaf' ? 1 : x.kind === 'const' ? 0 : x.items.reduce((a, i) => a + count(i), 0));
      for (let i = count(s); i > 0; i--) out.push(sp);
      return;
    }
    if (Array.isArray(sp)) {
      if (s.kind !== 'array' || s.items.length !== sp.length) throw errors.invalidOption(at, `a number, null, or an array of length ${s.kind === 'array' ? s.items.length : '…'} matching ${tp} (${describe(s)})`, raw(`an array of length ${sp.length}`));
      s.items.forEach((item, i) => walk(item, sp[i], childPath(at, i), childPath(tp, i)));
      return;
    }
    if (isPlainObject(sp)) {
      const keys = Object.keys(sp);
      if (s.kind !== 'object' || s.keys.length !== keys.length || s.keys.some((k) => !(k in sp))) throw errors.invalidOption(at, `a number, null, or an object with the keys of ${tp} (${describe(s)})`, raw(`an object with keys ${keys.join(', ') || '(none)'}`));
      s.keys.forEach((k, i) => walk(s.items[i]!, sp[k], childPath(at, k), childPath(tp, k)));
      return;
    }
    throw errors.invalidOption(at, 'a number, null, or an array or object of those', sp);
  };
  walk(structure, spec, specPath, treePath);
  return out;
}

function describe(s: Structure): string {
  if (s.kind === 'leaf') return 'a tf.Tensor';
  if (s.kind === 'array') return `an array of length ${s.items.length}`;
  if (s.kind === 'object') return `an object with keys ${s.keys.join(', ')}`;
  return 'a constant';
}

/**
 * `axis` as an index in [0, rank), where negative axes count from the end (`-1` is the last), or an
 * error naming the spec and the leaf: `inAxes[0]: expected an axis in [-2, 2) for args[0] of shape [3,4], got 2`.
 */
export function normalizeAxis(axis: number, rank: number, specPath: string, leafPath: string, shape: readonly number[]): number {
  if (axis < -rank || axis >= rank) throw errors.invalidOption(specPath, `an axis in [${-rank}, ${rank}) for ${leafPath} of shape ${fmtShape(shape)}`, axis);
  return axis < 0 ? axis + rank : axis;
}

/**
 * Pytrees: the nested arrays and plain objects of tensors the function transforms take and return,
 * as in JAX and torch.func. Every transform flattens its arguments and f's output to a list of
 * tensors plus a structure descriptor, works on the list, and rebuilds trees with `unflatten`, so no
 * transform walks trees on its own. Errors name the path of the bad leaf from the root the caller
 * names: `f's output[1].b: expected a tf.Tensor, got 3`.
 */
import * as tf from '@tensorflow/tfjs';
import { errors, fmtShape, raw } from '../errors.js';

/** A tensor, or an array or plain object whose leaves are trees. */
export type Tree = tf.Tensor | readonly Tree[] | { readonly [key: string]: Tree };

/** A tree's shape without its tensors: what `unflatten` needs to put leaves back. */
export type Structure =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'array'; readonly items: readonly Structure[] }
  | { readonly kind: 'object'; readonly keys: readonly string[]; readonly items: readonly Structure[] }
  /** A non-tensor value kept as is; only where constants are allowed (an aux output). */
  | { readonly kind: 'const'; readonly value: unknown };

export interface Flat {
  readonly leaves: tf.Tensor[];
  readonly structure: Structure;
}

export interface FlattenOptions {
  /** Keep values that are neither tensors nor containers as constants instead of refusing them (aux outputs may hold anything, as in torch.func). */
  constants?: boolean;
}

/** Plain objects only: class instances (a Map, a tf.Variable's owner) are not containers, so a typo cannot silently drop tensors. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `path[2]`, `path.key`, or `path["odd key"]`: the spelling a reader would type to reach the leaf. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Flattens a tree to its tensors in a fixed order (array index order, object key insertion order) and
 * its structure. Throws a GradPoolError naming the path of the first leaf that is not a tf.Tensor.
 *
 * @example
 * ```ts
 * const { leaves, structure } = flatten({ W: tf.ones([2, 2]), b: [tf.zeros([2])] }, 'params');
 * leaves.length; // 2
 * unflatten(structure, leaves); // { W, b: [b0] } again
 * ```
 */
export function flatten(tree: unknown, path: string, options: FlattenOptions = {}): Flat {
  const leaves: tf.Tensor[] = [];
  const walk = (node: unknown, at: string): Structure => {
    if (node instanceof tf.Tensor) {
      leaves.push(node);
      return { kind: 'leaf' };
    }
    if (Array.isArray(node)) return { kind: 'array', items: node.map((item, i) => walk(item, childPath(at, i))) };
    if (isPlainObject(node)) {
      const keys = Object.keys(node);
      return { kind: 'object', keys, items: keys.map((k) => walk(node[k], childPath(at, k))) };
    }
    if (options.constants) return { kind: 'const', value: node };
    throw errors.type(at, 'a tf.Tensor', node);
  };
  const structure = walk(tree, path);
  return { leaves, structure };
}

/**
 * Rebuilds a tree from a structure and its leaves, in `flatten`'s order. The leaves may be any values:
 * a Jacobian puts a whole tree (the input's structure) where each output tensor was.
 *
 * @example
 * ```ts
 * const { leaves, structure } = flatten([tf.scalar(1), { a: tf.scalar(2) }], 'x');
 * unflatten(structure, leaves.map((t) => tf.mul(t, 2))); // [2, { a: 4 }]
 * ```
 */
export function unflatten(structure: Structure, leaves: readonly unknown[]): unknown {
  let next = 0;
  const build = (s: Structure): unknown => {
    switch (s.kind) {
      case 'leaf':
        if (next >= leaves.length) throw new RangeError(`unflatten: the structure has more leaves than the ${leaves.length} given`);
        return leaves[next++];
      case 'array':
        return s.items.map(build);
      case 'object': {
        const out: Record<string, unknown> = {};
        s.keys.forEach((k, i) => (out[k] = build(s.items[i]!)));
        return out;
      }
      case 'const':
        return s.value;
    }
  };
  const tree = build(structure);
  if (next !== leaves.length) throw new RangeError(`unflatten: the structure has ${next} leaves, got ${leaves.length}`);
  return tree;
}

/**
 * Applies `fn` to every tensor of a tree, keeping its structure (constants, where allowed, pass through).
 *
 * @example
 * ```ts
 * mapTree({ a: tf.ones([2]), b: [tf.ones([3])] }, 'x', (t) => tf.mul(t, 3)); // { a: [3,3], b: [[3,3,3]] }
 * ```
 */
export function mapTree(tree: unknown, path: string, fn: (leaf: tf.Tensor, index: number) => tf.Tensor, options: FlattenOptions = {}): unknown {
  const { leaves, structure } = flatten(tree, path, options);
  return unflatten(structure, leaves.map(fn));
}

/** The paths of a structure's leaves, in `flatten`'s order, so a check on the flat list can name the leaf. */
export function leafPaths(structure: Structure, path: string): string[] {
  const out: string[] = [];
  const walk = (s: Structure, at: string): void => {
    if (s.kind === 'leaf') out.push(at);
    else if (s.kind === 'array') s.items.forEach((item, i) => walk(item, childPath(at, i)));
    else if (s.kind === 'object') s.keys.forEach((k, i) => walk(s.items[i]!, childPath(at, k)));
  };
  walk(structure, path);
  return out;
}

/** How a message describes a structure's top level: `a tf.Tensor`, `an array of length 2`, `an object with keys a, b`. */
function describe(s: Structure): string {
  if (s.kind === 'leaf') return 'a tf.Tensor';
  if (s.kind === 'array') return `an array of length ${s.items.length}`;
  if (s.kind === 'object') return s.keys.length ? `an object with keys ${s.keys.join(', ')}` : 'an empty object';
  return 'a constant';
}

/** What a value's top level is, in the same words. */
function describeValue(v: unknown): unknown {
  if (v instanceof tf.Tensor) return raw(`a tf.Tensor of shape ${fmtShape(v.shape)}`);
  if (Array.isArray(v)) return raw(`an array of length ${v.length}`);
  if (isPlainObject(v)) return raw(Object.keys(v).length ? `an object with keys ${Object.keys(v).join(', ')}` : 'an empty object');
  return v;
}

/**
 * Flattens `tree`, which must have the structure of `like` and a float32 tensor of each of `shapes` at
 * its leaves (cotangents like f's output, tangents like the primals). `likeName` says what it must
 * match: `cotangents[1]: expected an array of length 2 (as f's output[1]), got an array of length 3`.
 *
 * @example
 * ```ts
 * const ref = flatten([tf.zeros([2])], 'primals');
 * flattenLike([tf.ones([2])], ref.structure, ref.leaves.map((t) => t.shape), 'tangents', 'primals');
 * ```
 */
export function flattenLike(tree: unknown, like: Structure, shapes: readonly (readonly number[])[], path: string, likeName: string): tf.Tensor[] {
  const leaves: tf.Tensor[] = [];
  const walk = (node: unknown, s: Structure, at: string, likeAt: string): void => {
    const mismatch = () => errors.type(at, `${describe(s)} (as ${likeAt})`, describeValue(node));
    if (s.kind === 'leaf') {
      if (!(node instanceof tf.Tensor)) throw mismatch();
      const shape = shapes[leaves.length]!;
      if (node.shape.length !== shape.length || node.shape.some((d: number, i: number) => d !== shape[i])) throw errors.shape(at, shape, node.shape);
      if (node.dtype !== 'float32') throw errors.type(at, 'a float32 tf.Tensor', dtypeText(node));
      leaves.push(node);
    } else if (s.kind === 'array') {
      if (!Array.isArray(node) || node.length !== s.items.length) throw mismatch();
      s.items.forEach((item, i) => walk(node[i], item, childPath(at, i), childPath(likeAt, i)));
    } else if (s.kind === 'object') {
      if (!isPlainObject(node)) throw mismatch();
      const keys = Object.keys(node);
      if (keys.length !== s.keys.length || s.keys.some((k) => !(k in node))) throw mismatch();
      s.keys.forEach((k, i) => walk(node[k], s.items[i]!, childPath(at, k), childPath(likeAt, k)));
    }
  };
  walk(tree, like, path, likeName);
  return leaves;
}

/** `an int32 tf.Tensor`: how a message names a tensor of the wrong dtype. */
export function dtypeText(t: tf.Tensor): unknown {
  return raw(`${/^[aeiou]/.test(t.dtype) ? 'an' : 'a'} ${t.dtype} tf.Tensor`);
}

/** Refuses a leaf that is not float32: tfjs differentiates float32 only (its gradients are float32). */
export function requireFloat(leaves: readonly tf.Tensor[], structure: Structure, path: string): void {
  const paths = leafPaths(structure, path);
  leaves.forEach((t, i) => {
    if (t.dtype !== 'float32') throw errors.type(paths[i]!, 'a float32 tf.Tensor', dtypeText(t));
  });
}

import { Rng } from '../rng.js';

/** A custom initializer: receives the parameter's shape and a seeded generator, returns its values. */
export type InitFn = (shape: readonly number[], rng: Rng) => ArrayLike<number>;

/**
 * How a parameter is initialised. Names and defaults follow `tf.initializers`:
 * `randomNormal` is N(mean=0, stddev=0.05); `glorotUniform` is U(-l, l) with l = sqrt(6 / (fanIn + fanOut)).
 */
export type InitSpec =
  | 'zeros'
  | 'ones'
  | 'randomNormal'
  | 'glorotUniform'
  | { name: 'randomNormal'; mean?: number; stddev?: number }
  | { name: 'glorotUniform' }
  | { name: 'constant'; value: number }
  | InitFn;

export const INIT_NAMES = ['zeros', 'ones', 'randomNormal', 'glorotUniform', 'constant'] as const;

/**
 * Fan-in and fan-out as tfjs computes them (channels-last): for rank > 2 the leading dimensions
 * are the receptive field, so a conv kernel [h, w, in, out] has fanIn = h*w*in, fanOut = h*w*out.
 */
export function computeFans(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0]!, shape[0]!];
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2]! * receptive, shape[shape.length - 1]! * receptive];
}

/** Fills `out` according to `spec`, drawing from `rng`. Returns the values a custom function produced, unchecked. */
export function runInit(spec: InitSpec, shape: readonly number[], rng: Rng, out: Float32Array): ArrayLike<number> | null {
  if (typeof spec === 'function') return spec(shape, rng);
  const name = typeof spec === 'string' ? spec : spec.name;
  switch (name) {
    case 'zeros':
      out.fill(0);
      return null;
    case 'ones':
      out.fill(1);
      return null;
    case 'constant':
      out.fill((spec as { value: number }).value);
      return null;
    case 'randomNormal': {
      const o = typeof spec === 'string' ? {} : (spec as { mean?: number; stddev?: number });
      const mean = o.mean ?? 0;
      const stddev = o.stddev ?? 0.05;
      for (let i = 0; i < out.length; i++) out[i] = mean + stddev * rng.normal();
      return null;
    }
    case 'glorotUniform': {
      const [fanIn, fanOut] = computeFans(shape);
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < out.length; i++) out[i] = (2 * rng.uniform() - 1) * limit;
      return null;
    }
    default:
      throw new Error(`unknown initializer ${String(name)}`);
  }
}

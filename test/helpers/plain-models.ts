/**
 * The fixture models re-written in plain float64 JavaScript, as finite-difference oracles that share
 * no code with tfjs. Parameters arrive in layout order, row-major.
 */

/** seed: pred = Σ_ij x[i,j] W[i,j,0] + b; loss = (pred − y)². */
function seed([W, b]: Float64Array[], x: ArrayLike<number>, y: ArrayLike<number>): number {
  let pred = b![0]!;
  for (let k = 0; k < 6; k++) pred += x[k]! * W![k]!;
  return (pred - y[0]!) ** 2;
}

/** mlp: h = tanh(x W1 + b1); z = h W2 + b2; loss = −Σ y log softmax(z). */
function mlp([W1, b1, W2, b2]: Float64Array[], x: ArrayLike<number>, y: ArrayLike<number>): number {
  const h = Array.from({ length: 4 }, (_, j) => {
    let s = b1![j]!;
    for (let i = 0; i < 5; i++) s += x[i]! * W1![i * 4 + j]!;
    return Math.tanh(s);
  });
  const z = Array.from({ length: 3 }, (_, j) => {
    let s = b2![j]!;
    for (let i = 0; i < 4; i++) s += h[i]! * W2![i * 3 + j]!;
    return s;
  });
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
  return -z.reduce((a, v, j) => a + y[j]! * (v - lse), 0);
}

const MODELS: Record<string, (p: Float64Array[], x: ArrayLike<number>, y: ArrayLike<number>) => number> = { seed, mlp };

/** The per-sample loss of fixture model `name` in float64. */
export function plainLoss(name: string, params: Float64Array[], x: ArrayLike<number>, y: ArrayLike<number>): number {
  const f = MODELS[name];
  if (!f) throw new Error(`no plain model '${name}'`);
  return f(params, x, y);
}

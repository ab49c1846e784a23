// Jacobians, Hessians, hvp and vhp, after the torch.func tutorial of that name, for
// predict(W, b, x) = tanh(W x + b) with x of D features:
// - jacrev and jacfwd of predict with respect to x ([D, D], the same matrix two ways);
// - the Hessian of f(x) = Σ predict(W, b, x) by hessian, by jacfwd(jacrev) and by jacrev(jacrev);
// - the Hessian-vector product H·v = jvp(grad(f), [x], [v]) and the vector-Hessian product vᵀH by
//   vjp(grad(f), x), without forming H.
// The script checks each pair that must agree and prints the results as JSON;
// test/examples/jacobians-hessians.test.ts checks them against float64 finite differences.
//
//   node dist/examples/jacobians-hessians/hessians.js
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { grad, hessian, jacfwd, jacrev, jvp, vjp } from 'gradpool';

export const D = 4;

/** Seeded float32 values in [-1, 1) (an LCG, so a float64 re-write can use the very same numbers). */
export function seeded(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => Math.fround(((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1));
}
export const W = seeded(D * D, 1);
export const B = seeded(D, 2);
export const X = seeded(D, 3);
export const V = seeded(D, 4);

const predict = (x: tf.Tensor) => tf.tanh(tf.add(tf.reshape(tf.matMul(tf.tensor2d(W, [D, D]), tf.reshape(x, [D, 1])), [D]), tf.tensor1d(B)));
const f = (x: tf.Tensor) => tf.sum(predict(x));

/** Everything the tutorial computes, as plain arrays (row-major). */
export function compute(): Record<string, number[]> {
  return tf.tidy(() => {
    const x = tf.tensor1d(X);
    const v = tf.tensor1d(V);
    const [, hvp] = jvp(grad(f), [x], [v]);
    const [, vjpFn] = vjp(grad(f), x);
    const out = {
      jacrev: jacrev(predict)(x),
      jacfwd: jacfwd(predict)(x),
      hessian: hessian(f)(x),
      'jacfwd(jacrev)': jacfwd(jacrev(f))(x),
      'jacrev(jacrev)': jacrev(jacrev(f))(x),
      hvp,
      vhp: vjpFn(v)[0] as tf.Tensor,
    };
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.dataSync())]));
  });
}

/** Prints whether the pairs agree (to 1e-5 relative) and the results. */
export function main(): Record<string, number[]> {
  const r = compute();
  const close = (a: number[], b: number[]) => a.length === b.length && a.every((u, i) => Math.abs(u - b[i]!) <= 1e-6 + 1e-5 * Math.abs(b[i]!));
  const hv = Array.from({ length: D }, (_, i) => r.hessian!.slice(i * D, i * D + D).reduce((s, h, j) => s + h * V[j]!, 0));
  const checks: [string, boolean][] = [
    ['jacfwd equals jacrev', close(r.jacfwd!, r.jacrev!)],
    ['jacfwd(jacrev) and jacrev(jacrev) equal hessian', close(r['jacfwd(jacrev)']!, r.hessian!) && close(r['jacrev(jacrev)']!, r.hessian!)],
    ['hvp equals H·v', close(r.hvp!, hv)],
    ['vhp equals vᵀH (H is symmetric: H·v)', close(r.vhp!, hv)],
  ];
  console.log(`predict(W, b, x) = tanh(W x + b), ${D} features`);
  for (const [name, ok] of checks) {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}`);
    if (!ok) process.exitCode = 1;
  }
  console.log(`results ${JSON.stringify(r)}`);
  return r;
}

// Run as a script (not when imported, e.g. by the test for the data).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await tf.setBackend('cpu');
  main();
}

// Neural tangent kernels, after the torch.func tutorial "Neural Tangent Kernels": the empirical NTK
// of a two-layer tanh net, Θ(x1, x2) = J(x1) J(x2)ᵀ with J the Jacobian of the net's output with
// respect to its parameters, for every pair of inputs of two batches ([N1, N2, C, C]).
// Two ways, as in the tutorial: contracting per-input Jacobians (jacrev), and NTK-vector products
// (vjp, then jvp: no Jacobian is formed). The script checks that they agree and prints Θ as JSON;
// test/examples/jacobians-hessians.test.ts checks Θ against a per-input, per-output tf.grads loop.
//
//   node dist/examples/jacobians-hessians/ntk.js
import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import { jacrev, jvp, vjp } from 'gradpool';

export const [D, H, C, N1, N2] = [3, 8, 2, 4, 3];
export type Params = { W1: tf.Tensor; b1: tf.Tensor; W2: tf.Tensor; b2: tf.Tensor };

/** The net, for ONE input x [D]: logits [C]. */
export function net(p: Params, x: tf.Tensor): tf.Tensor {
  const h = tf.tanh(tf.add(tf.matMul(p.W1, tf.reshape(x, [D, 1])), tf.reshape(p.b1, [H, 1])));
  return tf.add(tf.reshape(tf.matMul(p.W2, h), [C]), p.b2);
}

/** Seeded parameters and inputs: the same numbers on every run. */
export function setup(): { params: Params; x1: tf.Tensor; x2: tf.Tensor } {
  const r = (shape: number[], seed: number, scale = 1) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
  const params = { W1: r([H, D], 1, 1 / Math.sqrt(D)), b1: r([H], 2, 0.1), W2: r([C, H], 3, 1 / Math.sqrt(H)), b2: r([C], 4, 0.1) };
  return { params, x1: r([N1, D], 5), x2: r([N2, D], 6) };
}

const leaves = (p: Params) => [p.W1, p.b1, p.W2, p.b2];

/** Method 1: per input, jacrev with respect to the parameters ([C, ...leaf] per leaf), contracted over parameters. */
export function ntkByJacobians(params: Params, x1: tf.Tensor, x2: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    // Each input's Jacobian, flattened to [C, P] per parameter leaf.
    const jac = (xs: tf.Tensor) => tf.unstack(xs).map((x) => leaves(jacrev((p: Params) => net(p, x))(params)).map((j) => tf.reshape(j, [C, -1])));
    const [j1, j2] = [jac(x1), jac(x2)];
    // Θ(i, j) = Σ_leaves J1_i · J2_jᵀ, [C, C].
    const rows = j1.map((a) => tf.stack(j2.map((b) => tf.addN(a.map((al, k) => tf.matMul(al, b[k]!, false, true))))));
    return tf.stack(rows); // [N1, N2, C, C]
  });
}

/** Method 2: NTK-vector products. Θ(x1, x2)·e_d = J1 (J2ᵀ e_d): a vjp at x2, then a jvp at x1. */
export function ntkByProducts(params: Params, x1: tf.Tensor, x2: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const cols = (a: tf.Tensor, b: tf.Tensor) => {
      const [, vjpFn] = vjp((p: Params) => net(p, b), params);
      const columns = Array.from({ length: C }, (_, d) => {
        const [pulled] = vjpFn(tf.oneHot(d, C).cast('float32')) as [Params]; // J2ᵀ e_d, a parameter tree
        return jvp((p: Params) => net(p, a), [params], [pulled])[1]; // J1 J2ᵀ e_d, [C]
      });
      return tf.stack(columns, 1); // [C, C]: column d is Θ·e_d
    };
    return tf.stack(tf.unstack(x1).map((a) => tf.stack(tf.unstack(x2).map((b) => cols(a, b)))));
  });
}

/** Runs both methods, prints whether they agree and the kernel; returns it. */
export function main(): number[] {
  const { params, x1, x2 } = setup();
  const byJac = ntkByJacobians(params, x1, x2);
  const byProd = ntkByProducts(params, x1, x2);
  const [a, b] = [Float32Array.from(byJac.dataSync()), Float32Array.from(byProd.dataSync())];
  const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!) / (1e-6 + 1e-5 * Math.abs(b[i]!))), 0);
  console.log(`two-layer tanh net (${D}→${H}→${C}), NTK of ${N1}×${N2} inputs: shape [${byJac.shape}]`);
  console.log(`${worst <= 1 ? 'ok  ' : 'FAIL'} jacobian contraction vs NTK-vector products (rtol 1e-5)`);
  if (worst > 1) process.exitCode = 1;
  const ntk = Array.from(a);
  console.log(`ntk ${JSON.stringify(ntk)}`);
  tf.dispose([byJac, byProd, x1, x2, ...leaves(params)]);
  return ntk;
}

// Run as a script (not when imported, e.g. by the test for the net and its parameters).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await tf.setBackend('cpu');
  main();
}

// The examples/jacobians-hessians scripts, run as their headers say, against independent oracles:
// - ntk.js: the NTK Θ[i, j] = J(x1_i) J(x2_j)ᵀ against a per-input, per-output tf.grads loop (each row
//   of each Jacobian a separate gradient of one logit), contracted in float64;
// - hessians.js: Jacobian, Hessian, hvp and vhp of tanh(W x + b) against float64 central differences
//   of the function (and of its hand-written gradient Wᵀ(1 − t²), for the Hessian).
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { B, D, V, W, X } from '../../examples/jacobians-hessians/hessians.js';
import { C, N1, N2, net, setup, type Params } from '../../examples/jacobians-hessians/ntk.js';
import { assertClose } from '../helpers/assert.js';
import { withBackend } from '../helpers/env.js';
import { fdJacobian, matVec } from '../frontend/oracle.js';

/** Runs an example script; returns its stdout after checking every ok/FAIL line says ok. */
function run(name: string, checks: number): string {
  const script = fileURLToPath(new URL(`../../examples/jacobians-hessians/${name}`, import.meta.url));
  const out = execFileSync(process.execPath, [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = out.split('\n').filter((l) => /^(ok|FAIL) /.test(l));
  assert.equal(lines.length, checks, out);
  assert.ok(lines.every((l) => l.startsWith('ok ')), out);
  return out;
}
const printed = (out: string, tag: string) => JSON.parse(new RegExp(`^${tag} (.*)$`, 'm').exec(out)![1]!);

describe('examples: jacobians-hessians', function () {
  withBackend('cpu');

  it('ntk.js prints the NTK of the two-layer net, [N1, N2, C, C], equal to the tf.grads loop contracted in float64', () => {
    const ntk = printed(run('ntk.js', 1), 'ntk') as number[];
    const { params, x1, x2 } = setup();
    const leaves = [params.W1, params.b1, params.W2, params.b2];
    // Row c of J(x): the gradient of logit c with respect to every parameter, flattened, in float64.
    const rows = (xs: tf.Tensor) =>
      tf.unstack(xs).map((x) =>
        Array.from({ length: C }, (_, c) => {
          const gs = tf.grads((...p: tf.Tensor[]) => tf.slice(net({ W1: p[0]!, b1: p[1]!, W2: p[2]!, b2: p[3]! } as Params, x), [c], [1]).sum())(leaves);
          const flat = Float64Array.from(gs.flatMap((g) => Array.from(g.dataSync())));
          tf.dispose(gs);
          return flat;
        }),
      );
    const [r1, r2] = [rows(x1), rows(x2)];
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, k) => s + v * b[k]!, 0);
    const want: number[] = [];
    for (let i = 0; i < N1; i++) for (let j = 0; j < N2; j++) for (let c = 0; c < C; c++) for (let d = 0; d < C; d++) want.push(dot(r1[i]![c]!, r2[j]![d]!));
    assert.equal(ntk.length, N1 * N2 * C * C);
    assertClose(ntk, want, { rtol: 1e-5, floor: 1e-2 }, 'NTK vs the tf.grads loop');
    tf.dispose([x1, x2, ...leaves]);
  });

  it('hessians.js prints jacrev, jacfwd, hessian (three ways), hvp and vhp, equal to float64 finite differences', () => {
    const r = printed(run('hessians.js', 4), 'results') as Record<string, number[]>;
    const pre = (x: ArrayLike<number>) => matVec(W, x, D, D).map((v, i) => v + B[i]!);
    const predict64 = (x: Float64Array) => pre(x).map(Math.tanh);
    const grad64 = (x: Float64Array) => { // ∇ Σ tanh(Wx + b) = Wᵀ(1 − t²)
      const s = pre(x).map((v) => 1 - Math.tanh(v) ** 2);
      return Float64Array.from({ length: D }, (_, j) => s.reduce((acc, si, i) => acc + si * W[i * D + j]!, 0));
    };
    const J = fdJacobian(predict64, X);
    const H = fdJacobian(grad64, X);
    const Hv = matVec(H, V, D, D);
    const opts = { rtol: 1e-5, floor: 1e-2 };
    for (const k of ['jacrev', 'jacfwd']) assertClose(r[k]!, J, opts, k);
    for (const k of ['hessian', 'jacfwd(jacrev)', 'jacrev(jacrev)']) assertClose(r[k]!, H, opts, k);
    assertClose(r.hvp!, Hv, opts, 'hvp');
    assertClose(r.vhp!, Hv, opts, 'vhp');
  });
});

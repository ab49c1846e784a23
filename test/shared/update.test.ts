// updateSlice runs reduce → noise → divide → optimizer block by block (cache-sized blocks): every
// step is elementwise, so the blocked pass must give the bits of the same steps run over the whole
// range at once, for any slicing, with DP noise and a stateful optimizer.
import assert from 'node:assert/strict';
import { adam, applyUpdate, stateSlots } from '../../src/optim/index.js';
import { addNoise } from '../../src/privacy/gaussian.js';
import { reducePartials } from '../../src/shared/reduce.js';
import { updateSlice, type UpdatePlan, type UpdateViews } from '../../src/shared/update.js';
import { Rng } from '../../src/rng.js';
import { sameBytes } from '../helpers/assert.js';

const P = 10_007; // more than two blocks, and odd (a noise pair straddles a block edge)
const C = 3;
const rng = new Rng(11);
const randn = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
const partial = Float64Array.from({ length: C * P }, () => rng.normal() * 3);
const params = randn(P);
const spec = adam({ learningRate: 0.01 });
const slots = stateSlots(spec).map(() => randn(P).map(Math.abs));
const plan: UpdatePlan = { P, numChunks: C, divisor: 96, noiseStd: 0.7, noiseSeed: 1234, spec, lr: 0.01, t: 5 };

function views(): UpdateViews {
  return { partial, grad: new Float32Array(P), pIn: params, pOut: new Float32Array(P), sIn: slots, sOut: slots.map(() => new Float32Array(P)) };
}

/** The same steps, each over the whole range. */
function reference(): UpdateViews {
  const v = views();
  const sum = new Float64Array(P);
  reducePartials(partial, C, P, sum);
  addNoise(sum, 0, P, plan.noiseStd, plan.noiseSeed, plan.t);
  for (let k = 0; k < P; k++) v.grad[k] = sum[k]! / plan.divisor;
  v.pOut.set(v.pIn);
  v.sIn.forEach((s, j) => v.sOut[j]!.set(s));
  applyUpdate(spec, { lr: plan.lr, step: plan.t }, v.pOut, v.grad, v.sOut, 0, P);
  return v;
}

const same = (a: UpdateViews, b: UpdateViews) => sameBytes(a.grad, b.grad) && sameBytes(a.pOut, b.pOut) && a.sOut.every((s, j) => sameBytes(s, b.sOut[j]!));

describe('updateSlice', () => {
  it('gives the whole-range steps\' bits, over [0, P) and over uneven slices in any order', () => {
    const ref = reference();
    const whole = views();
    updateSlice(plan, whole, 0, P);
    assert.ok(same(whole, ref), 'one slice');
    const sliced = views();
    for (const [lo, hi] of [[8193, P], [0, 1], [1, 4097], [4097, 8193]] as const) updateSlice(plan, sliced, lo, hi);
    assert.ok(same(sliced, ref), 'uneven slices');
  });
});

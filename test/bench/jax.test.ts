// The jax-js baseline (bench/jax.ts) is only a fair comparison if it computes the same thing as the
// pool: its per-sample gradients and training steps are checked against the main-thread
// tf.valueAndGrads loop (itself checked against the pool's oracle in baselines.test.ts) on the same
// data and parameters, and a jax-js model that differs slightly (no bias) must disagree.
import assert from 'node:assert/strict';
import { JAX_BATCH_LOSSES, JAX_LOSSES, JaxBaseline, loadJax, type JaxLoss } from '../../bench/jax.js';
import { LoopBaseline } from '../../bench/baselines.js';
import { WORKLOADS } from '../../bench/workloads.js';
import { initParams, type ModelDef } from '../../src/model/define.js';
import { loadModel, modelHref } from '../../src/model/load.js';
import { initBackend } from '../../workers/backend.js';

/** Largest |a - b| / (1e-3 + max |b|) over the arrays: relative to the array's scale. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1e-3 + scale));
  return worst;
}

describe('bench: the jax-js baseline computes the same per-sample gradients and steps as gradpool', function () {
  this.timeout(60_000);
  before(() => initBackend('wasm'));

  for (const name of ['seed', 'mlp'] as const) {
    const setup = async () => {
      const j = await loadJax();
      assert.ok(j, '@jax-js/jax is a devDependency: it should be installed');
      const w = WORKLOADS[name];
      const def: ModelDef = await loadModel(modelHref(w.model));
      // Nonzero biases, so a model without them would show.
      const init = initParams(def, 4).map((v, i) => (v === 0 ? 0.1 + 0.01 * (i % 7) : v));
      const B = 6;
      return { j, def, init, B, ...w.data(B, 21) };
    };

    it(`${name}: jit(vmap(grad(loss))) equals the tf.valueAndGrads loop to 1e-4, and a different model does not`, async () => {
      const { j, def, init, B, x, y } = await setup();
      const loop = new LoopBaseline(def, init);
      const want = loop.perSampleGrads(x, y, B).grads;
      loop.dispose();
      const jb = new JaxBaseline(j, def, init, JAX_LOSSES[name], JAX_BATCH_LOSSES[name], 0.1);
      const got = await jb.perSampleGrads(x, y, B);
      jb.dispose();
      got.forEach((g, k) => assert.ok(relErr(g, want[k]!) <= 1e-4, `${name} grads.${def.layout.names[k]}: relative error ${relErr(g, want[k]!)}`));

      // Sensitivity: the same model without its last bias gives different gradients somewhere.
      const last = def.layout.names[def.layout.names.length - 1]!;
      const noBias: JaxLoss = (jj, p, xi, yi) => JAX_LOSSES[name](jj, { ...p, [last]: p[last]!.mul(0) }, xi, yi);
      const wrong = new JaxBaseline(j, def, init, noBias, JAX_BATCH_LOSSES[name], 0.1);
      const bad = await wrong.perSampleGrads(x, y, B);
      wrong.dispose();
      assert.ok(
        bad.some((g, k) => relErr(g, want[k]!) > 1e-3),
        'a jax-js model without its output bias should not match',
      );
    });

    it(`${name}: two jax-js SGD steps give the losses and parameters of the loop's two steps`, async () => {
      const { j, def, init, B, x, y } = await setup();
      const loop = new LoopBaseline(def, init);
      const jb = new JaxBaseline(j, def, init, JAX_LOSSES[name], JAX_BATCH_LOSSES[name], 0.1);
      for (let s = 0; s < 2; s++) {
        const want = loop.step(x, y, B, 0.1);
        const got = await jb.step(x, y, B);
        assert.ok(Math.abs(got - want) <= 1e-4 * (1 + Math.abs(want)), `${name} step ${s} loss: ${got} vs ${want}`);
      }
      const moved = await jb.flatParams();
      assert.ok(relErr(moved, init) > 1e-6, 'the steps should move the parameters');
      // One more loop step's loss from the loop's parameters equals the jax-js one from its own.
      const want = loop.step(x, y, B, 0.1);
      const got = await jb.step(x, y, B);
      assert.ok(Math.abs(got - want) <= 1e-4 * (1 + Math.abs(want)), `${name} third-step loss: ${got} vs ${want}`);
      loop.dispose();
      jb.dispose();
    });
  }
});

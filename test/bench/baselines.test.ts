import assert from 'node:assert/strict';
import { BatchedBaseline, FitBaseline, LoopBaseline } from '../../bench/baselines.js';
import { WORKLOADS } from '../../bench/workloads.js';
import { initParams } from '../../src/model/define.js';
import { loadModel, modelHref } from '../../src/model/load.js';
import { initBackend } from '../../workers/backend.js';
import { loopOracle } from '../helpers/oracle.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

// The baselines are only comparable with the pool if they compute the same model: the batched and
// tf.layers twins are written separately from the single-sample modules, so check them against it.
describe('bench: the main-thread baselines compute the same model as the pool', function () {
  this.timeout(60_000);
  before(() => initBackend('wasm'));

  for (const name of ['seed', 'mlp', 'conv'] as const) {
    it(`${name}: loop = oracle, batched and fit agree with the loop`, async () => {
      const w = WORKLOADS[name];
      const def = await loadModel(modelHref(w.model));
      const init = initParams(def, 3);
      const B = 5;
      const { x, y } = w.data(B, 11);
      const params = Object.fromEntries(def.layout.names.map((n, k) => [n, { shape: def.layout.shapes[k]!, data: init.slice(def.layout.offsets[k]!, def.layout.offsets[k]! + def.layout.sizes[k]!) }]));
      const oracle = loopOracle(def, params, x, y, B);

      const loop = new LoopBaseline(def, init);
      close(loop.predict(x, B), oracle.preds, 0, 'loop predict');
      const psg = loop.perSampleGrads(x, y, B);
      close(psg.losses, oracle.losses, 0, 'loop losses');
      psg.grads.forEach((g, k) => close(g, oracle.grads[k]!, 0, `loop grads.${def.layout.names[k]}`));
      close([loop.step(x, y, B, 0.1)], [oracle.meanLoss], 1e-6, 'loop step loss');

      const batched = new BatchedBaseline(def, w, init, 0.1);
      close(batched.predict(x, B), oracle.preds, 1e-4, 'batched predict');
      close([batched.step(x, y, B)], [oracle.meanLoss], 1e-4, 'batched step loss');
      const fit = new FitBaseline(def, w, init, 0.1);
      close([await fit.step(x, y, B)], [oracle.meanLoss], 1e-4, 'fit step loss');
      // After one identical SGD step from identical weights, the next losses agree too.
      const second = batched.step(x, y, B);
      close([await fit.step(x, y, B)], [second], 1e-4, 'second step loss, fit vs batched');
      close([loop.step(x, y, B, 0.1)], [second], 1e-4, 'second step loss, loop vs batched');
      loop.dispose();
      batched.dispose();
      fit.dispose();
    });
  }
});

// The pool-overhead target compares the pool with its executor run in-process (bench/inprocess.ts):
// that is only like with like if both compute the same thing, chunk for chunk. They must agree
// bit for bit: same executor, same chunks, same chunk-ordered reduction.
import assert from 'node:assert/strict';
import { InProcessExecutor } from '../../bench/inprocess.js';
import { WORKLOADS } from '../../bench/workloads.js';
import { GradPool } from '../../src/index.js';
import type { ExecutorName } from '../../src/shared/protocol.js';
import { initParams } from '../../src/model/define.js';
import { loadModel, modelHref } from '../../src/model/load.js';
import { initBackend } from '../../workers/backend.js';

const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

describe('bench: the in-process executor computes exactly what the pool does', function () {
  this.timeout(60_000);
  before(() => initBackend('wasm'));

  for (const name of ['seed', 'mlp'] as const) {
    it(`${name}: perSampleGrads and the mean gradient, bit for bit, over several chunks`, async () => {
      const w = WORKLOADS[name];
      const def = await loadModel(modelHref(w.model));
      const init = initParams(def, 2);
      const B = 40;
      const { x, y } = w.data(B, 9);
      const pool = await GradPool.create({ model: w.model, threads: 2, backend: 'wasm', chunkSize: 16, seed: 0 });
      const ex = new InProcessExecutor(def, init, pool.executor as ExecutorName, 'wasm', pool.chunkSizeFor(B));
      try {
        pool.setParams(Object.fromEntries(def.layout.names.map((n, k) => [n, init.slice(def.layout.offsets[k]!, def.layout.offsets[k]! + def.layout.sizes[k]!)])));
        const want = await pool.perSampleGrads(x, y);
        const got = ex.perSampleGrads(x, y, B);
        same(got.losses, want.losses.data, 'losses');
        def.layout.names.forEach((n, k) => same(got.grads[k]!, want.grads[n]!.data, `grads.${n}`));
        const mean = await pool.gradient(x, y);
        // Twice: the second call reuses the first one's partial rows, and must carry nothing over.
        for (const call of ['first', 'second']) {
          const g = ex.gradient(x, y, B);
          assert.equal(g.loss, mean.loss, `${call} call's loss`);
          def.layout.names.forEach((n, k) => same(g.grad.subarray(def.layout.offsets[k]!, def.layout.offsets[k]! + def.layout.sizes[k]!), mean.grads[n]!.data, `${call} call's mean grad ${n}`));
        }
      } finally {
        ex.dispose();
        await pool.close();
      }
    });
  }
});

// A sharded step's update runs in the chunk task itself (after a barrier on the last chunk): the same
// bits as the coordinator's update, and every way a chunk can fail still leaves the pool as it was.
// A failure must also release the workers waiting at that barrier: a worker that dies cannot report,
// so without the coordinator's abort the other would wait for it forever and the call would hang.
import assert from 'node:assert/strict';
import { GradPool, sgd, adam } from '../../src/index.js';
import { fixture } from '../helpers/env.js';
import { sameBytes } from '../helpers/assert.js';
import { seedBatch } from '../helpers/data.js';

describe('step: the sharded update fused into the chunk task', function () {
  this.timeout(120_000);
  const B = 16;
  const y = Float32Array.from({ length: B }, (_, i) => Math.cos(i));
  const clean = () => seedBatch(B, Math.sin);
  const create = () => GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 4, executor: 'loop', seed: 3 });
  let pool: GradPool;
  before(async () => {
    pool = await create();
  });
  after(() => pool?.close());

  const snapshot = (p: GradPool) => Object.values(p.getParams()).map((v) => v.data.slice());

  it("gives the coordinator's update's bits, step after step (sgd and adam)", async () => {
    for (const optimizer of [sgd({ learningRate: 0.1 }), adam({ learningRate: 0.01 })]) {
      const [a, b] = await Promise.all([create(), create()]);
      try {
        for (let s = 0; s < 3; s++) {
          const x = seedBatch(B, (i) => Math.sin(i + s));
          const ra = await a.step(x, y, { optimizer, update: 'workers' });
          const rb = await b.step(x, y, { optimizer, update: 'coordinator' });
          assert.equal(ra.loss, rb.loss);
          assert.equal(ra.gradNorm, rb.gradNorm);
        }
        snapshot(a).forEach((v, k) => assert.ok(sameBytes(v, snapshot(b)[k]!), `${optimizer.kind}: parameter ${k} differs`));
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }
  });

  const failing = [
    { what: 'a worker that exits', sentinel: 777, error: { code: 'ERR_WORKER_CRASHED' } },
    { what: 'a sample that throws', sentinel: 666, error: { code: 'ERR_SAMPLE_FAILED' } },
    { what: 'a non-finite sample', sentinel: 555, error: { code: 'ERR_NON_FINITE_GRADIENT' } },
  ];
  for (const f of failing) {
    it(`${f.what}: the step fails, nothing changed, the next step is the one it would have been`, async () => {
      const optimizer = sgd({ learningRate: 0.1 });
      const before = snapshot(pool);
      const x = clean();
      x[9 * 6] = f.sentinel;
      await assert.rejects(pool.step(x, y, { optimizer, update: 'workers' }), f.error);
      snapshot(pool).forEach((v, k) => assert.ok(sameBytes(v, before[k]!), `parameter ${k} changed`));
      // The same step on a fresh pool from the same parameters gives the same bits.
      const ref = await create();
      try {
        await ref.setParams(pool.getParams());
        await ref.step(clean(), y, { optimizer, update: 'workers' });
        await pool.step(clean(), y, { optimizer, update: 'workers' });
        snapshot(pool).forEach((v, k) => assert.ok(sameBytes(v, snapshot(ref)[k]!), `parameter ${k}: the next step differs`));
      } finally {
        await ref.close();
      }
    });
  }

  it("nonFinite: 'skip-step' skips the update the workers would have run: parameters unchanged", async () => {
    const optimizer = sgd({ learningRate: 0.1 });
    const before = snapshot(pool);
    const x = clean();
    x[5 * 6] = 555;
    const r = await pool.step(x, y, { optimizer, update: 'workers', nonFinite: 'skip-step' });
    assert.equal(r.skipped, true);
    assert.match(r.skipReason!, /^step: sample 5 has a non-finite loss or gradient/);
    snapshot(pool).forEach((v, k) => assert.ok(sameBytes(v, before[k]!), `parameter ${k} changed`));
  });
});

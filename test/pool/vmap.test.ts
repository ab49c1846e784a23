/**
 * pool.vmap: the in-process vmap across the workers, bit for bit, for 1, 2 and 3 threads, on cpu and
 * wasm; pytrees, inAxes/outAxes, chunking, randomness, and errors naming fnRef.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { GradPool, vmap } from '../../src/index.js';
import * as fns from '../fixtures/functions/vmap-fns.js';
import { sameValues } from '../helpers/assert.js';
import { BACKENDS, fixture, withBackend } from '../helpers/env.js';
import { disposeTree, read, values } from '../frontend/oracle.js';

const MODULE = fileURLToPath(new URL('../fixtures/functions/vmap-fns.js', import.meta.url));

/** Every leaf of two trees has the same shape and the same bits. */
function sameTree(a: unknown, b: unknown, at = 'out'): void {
  if (a instanceof tf.Tensor) {
    assert.ok(b instanceof tf.Tensor, `${at}: expected a tensor`);
    assert.deepEqual(a.shape, b.shape, `${at}: shape`);
    assert.equal(a.dtype, b.dtype, `${at}: dtype`);
    assert.ok(sameValues(read(a), read(b)), `${at}: bits differ`);
  } else if (Array.isArray(a)) a.forEach((x, i) => sameTree(x, (b as unknown[])[i], `${at}[${i}]`));
  else Object.keys(a as object).forEach((k) => sameTree((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`));
}

for (const backend of BACKENDS) {
  describe(`pool.vmap (${backend})`, function () {
    withBackend(backend);
    const n = 37; // not a multiple of the chunk sizes used
    const pools: GradPool[] = [];
    before(async () => {
      for (const threads of [1, 2, 3]) pools.push(await GradPool.create({ model: fixture('seed'), threads, backend, seed: 5 }));
    });
    after(async () => Promise.all(pools.map((p) => p.close())));

    it('equals the in-process vmap bitwise, for 1, 2 and 3 threads: seed model, per-sample grads, per-sample Jacobians', async () => {
      const x = tf.tensor3d(values(n * 6, 1), [n, 3, 2]);
      const W = tf.tensor3d(values(6, 2), [3, 2, 1]);
      const b = tf.tensor1d([0.25]);
      const xs4 = tf.tensor2d(values(n * 4, 3), [n, 4]);
      const A = tf.tensor2d(values(12, 4), [3, 4]);
      const cases = [
        { export: 'seed', f: fns.seed, args: [x, W, b], opts: { inAxes: [0, null, null] } },
        { export: 'seedGrad', f: fns.seedGrad, args: [W, b, x], opts: { inAxes: [null, null, 0], chunkSize: 8 } },
        { export: 'layerJacobian', f: fns.layerJacobian, args: [xs4, A], opts: { inAxes: [0, null], outAxes: 1 } },
      ];
      for (const c of cases) {
        const want = vmap(c.f as (...a: unknown[]) => unknown, c.opts as never)(...c.args);
        for (const pool of pools) {
          const got = await pool.vmap({ module: MODULE, export: c.export }, c.opts as never)(...c.args);
          sameTree(got, want, `${c.export}, ${pool.threads} threads`);
          disposeTree(got);
        }
        disposeTree(want);
      }
      disposeTree([x, W, b, xs4, A]);
    });

    it('pytree arguments and outputs, chunked, equal the in-process vmap bitwise', async () => {
      const p = { w: tf.tensor1d([0.5, -1, 2]), shift: tf.scalar(0.1) };
      const x = tf.tensor2d(values(3 * n, 4), [3, n]); // batch on axis 1
      const opts = { inAxes: [null, 1], outAxes: { y: 0, pair: [0, -1] }, chunkSize: 5 };
      const want = vmap(fns.tree, opts)(p, x);
      for (const pool of pools) {
        const got = await pool.vmap<[typeof p, tf.Tensor]>({ module: new URL(`file://${MODULE}`), export: 'tree' }, opts)(p, x);
        sameTree(got, want, `${pool.threads} threads`);
        disposeTree(got);
      }
      disposeTree([p, x, want]);
    });

    it("randomness 'different' with one seed draws the same masks in-process and on any thread count", async () => {
      const x = tf.ones([n, 8]);
      const want = vmap(fns.drop, { randomness: 'different', seed: 9, chunkSize: 4 })(x);
      for (const pool of pools) {
        const got = await pool.vmap({ module: MODULE, export: 'drop' }, { randomness: 'different', seed: 9, chunkSize: 4 })(x);
        sameTree(got, want, `${pool.threads} threads`);
        disposeTree(got);
      }
      await assert.rejects(pools[1]!.vmap({ module: MODULE, export: 'drop' })(x), /randomness: the model calls tf\.dropout; random ops are refused with randomness 'error'\. Call pool\.vmap\(fnRef, \{ randomness: 'different' \}\)/);
      disposeTree([x, want]);
    });

    it('errors name fnRef and its fields, and the pool stays usable', async () => {
      const pool = pools[1]!;
      const x = tf.ones([4, 2]);
      assert.throws(() => pool.vmap(fns.seed as never), /fnRef: expected an object \{ module, export \}/);
      assert.throws(() => pool.vmap({ module: MODULE } as never), /fnRef\.export: expected the name of the module's export/);
      assert.throws(() => pool.vmap({ module: MODULE, export: 'seed', name: 'x' } as never), /fnRef\.name: unknown field/);
      await assert.rejects(pool.vmap({ module: MODULE, export: 'notAFunction' })(x), /fnRef\.export: expected the name of a function exported by .*vmap-fns\.js, got 42/);
      await assert.rejects(pool.vmap({ module: MODULE, export: 'missing' })(x), /fnRef\.export: expected the name of a function exported by .*, got "missing"/);
      await assert.rejects(pool.vmap({ module: MODULE, export: 'throws' })(x), /a bug in the function/);
      const ok = await pool.vmap<[tf.Tensor], tf.Tensor>({ module: MODULE, export: 'double' })(x);
      assert.ok(sameValues(read(ok), new Float32Array(8).fill(2)));
      disposeTree([x, ok]);
    });

    it('leaks no tensor on the coordinator or the workers over repeated calls', async () => {
      const pool = pools[1]!;
      const x = tf.tensor3d(values(n * 6, 1), [n, 3, 2]);
      const W = tf.tensor3d(values(6, 2), [3, 2, 1]);
      const b = tf.tensor1d([0.25]);
      const f = pool.vmap<tf.Tensor[], tf.Tensor>({ module: MODULE, export: 'seed' }, { inAxes: [0, null, null] });
      tf.dispose(await f(x, W, b));
      const before = tf.memory().numTensors;
      const workersBefore = pool.stats().workers.map((w) => w.numTensors);
      for (let i = 0; i < 200; i++) tf.dispose(await f(x, W, b));
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(pool.stats().workers.map((w) => w.numTensors), workersBefore);
      disposeTree([x, W, b]);
    });
  });
}

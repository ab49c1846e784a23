// The pool's `replay` option (trace once, replay; workers/executors/vectorized/replay.ts): on by
// default and bit-identical to running without it; off for a model that reads mutable JS state, whose
// results then follow that state; validated.
import assert from 'node:assert/strict';
import { GradPool, sgd } from '../../src/index.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';
import { oneHot, randn } from '../helpers/data.js';
import { fixture, warningsDuring } from '../helpers/env.js';

describe('pool: replay option', function () {
  it('replay on (the default) and off give the same bits: per-sample gradients and 4 training steps', async () => {
    const x = randn(40 * 5, 1);
    const y = oneHot(40, 3, 2);
    const runs = [];
    for (const replay of [undefined, false]) {
      const pool = await GradPool.create({ model: fixture('mlp'), threads: 2, chunkSize: 8, ...(replay === undefined ? {} : { replay }) });
      try {
        const psg = [];
        for (let i = 0; i < 3; i++) psg.push((await pool.perSampleGrads(x, y)).grads.W1!.data);
        for (let i = 0; i < 4; i++) await pool.step(x, y, { optimizer: sgd({ learningRate: 0.1 }) });
        runs.push({ psg, params: pool.getParams() });
      } finally {
        await pool.close();
      }
    }
    const [on, off] = runs;
    on!.psg.forEach((g, i) => assert.ok(sameBytes(g, off!.psg[i]!), `perSampleGrads call ${i}`));
    for (const k of Object.keys(off!.params)) assert.ok(sameBytes(on!.params[k]!.data, off!.params[k]!.data), `params.${k}`);
  });

  it('replay: false follows a model that reads mutable JS state (a schedule kept in the module)', async () => {
    const pool = await GradPool.create({ model: fixture('scheduled'), threads: 1, executor: 'vectorized', replay: false, chunkSize: 4 });
    try {
      const x = randn(4 * 3, 3);
      const scales: number[] = [];
      const first = (await pool.predict(x)).data;
      for (let i = 0; i < 6; i++) scales.push((await pool.predict(x)).data[0]! / first[0]!);
      // Creation ran forward passes too (the probe and priming), so only the step-ups are checked:
      // the scale grows by one every 3 calls, which a replayed trace would never show.
      const ups = scales.map((s, i) => (i > 0 && s > scales[i - 1]! + 1e-6 ? 1 : 0)).reduce((a: number, b: number) => a + b, 0);
      assert.ok(ups >= 1, `scale ratios ${scales.map((s) => s.toFixed(3)).join(' ')}`);
    } finally {
      await pool.close();
    }
  });

  it('replay on: a model reading mutable JS state is caught by a later check, with a warning naming the option', async () => {
    const x = randn(4 * 3, 3);
    const { warnings } = await warningsDuring(async () => {
      const pool = await GradPool.create({ model: fixture('scheduled'), threads: 1, executor: 'vectorized', chunkSize: 4 });
      try {
        for (let i = 0; i < 140; i++) await pool.predict(x);
      } finally {
        await pool.close();
      }
    });
    const mine = warnings.filter((w) => w.startsWith('gradpool: vectorized replay disabled'));
    assert.ok(mine.length >= 1, warnings.join('\n'));
    for (const w of mine) assert.match(w, /differed from the normal path: if the model reads mutable JavaScript state, create the pool with replay: false\); using the normal path$/);
  });

  it('names a bad value', async () => {
    await rejectsExactly(GradPool.create({ model: fixture('seed'), replay: 'yes' as never }), 'replay: expected true or false, got "yes"', 'ERR_INVALID_OPTION');
  });
});

// fit with dropout in the model: the pool's call counter (randomCalls) is part of the fit state, so a
// run resumed from a mid-run state draws the same masks and ends bit-identical to an uninterrupted run.
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { GradPool, momentum, type FitState } from '../../src/index.js';
import { sameBytes } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';

describe('train: fit with dropout', function () {
  const N = 40;
  const x = randn(N * 4, 61);
  const y = randn(N * 2, 62);
  const opts = { epochs: 2, batchSize: 8, validation: { x, y } }; // validation calls take call numbers too

  it('resumes bit-identically: the fit state carries randomCalls; a state without it (older) reads as 0', async () => {
    const pool = await GradPool.create({ model: `${pathToFileURL(fixture('random')).href}?op=dropout`, threads: 2, seed: 9, chunkSize: 3 });
    const flat = () => Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data)));
    try {
      const start = pool.getParams();
      const full = await pool.fit({ x, y }, { optimizer: momentum({ learningRate: 0.1, momentum: 0.9 }), ...opts });
      const uninterrupted = flat();

      pool.setParams(start);
      pool.randomCalls = 0; // replay the first run's calls
      let saved: { state: FitState; params: ReturnType<GradPool['getParams']>; opt: ReturnType<GradPool['getOptimizerState']> } | null = null;
      const opt1 = momentum({ learningRate: 0.1, momentum: 0.9 });
      await pool.fit({ x, y }, { optimizer: opt1, ...opts, onStep: (l) => { if (l.globalStep === 7) saved = { state: l.state(), params: pool.getParams(), opt: pool.getOptimizerState(opt1) }; return l.globalStep < 7; } });
      assert.equal(saved!.state.randomCalls, 8, 'steps 1-7 and the validation after epoch 0 (5 steps an epoch)');

      const resume = async (state: FitState) => {
        pool.randomCalls = 1000; // whatever the pool did meanwhile
        const opt = momentum({ learningRate: 0.1, momentum: 0.9 });
        pool.setParams(saved!.params);
        pool.setOptimizerState(opt, saved!.opt);
        return pool.fit({ x, y }, { optimizer: opt, ...opts, initialState: state });
      };
      const resumed = await resume(saved!.state);
      assert.deepEqual(resumed.history.loss, full.history.loss);
      assert.ok(sameBytes(flat(), uninterrupted), 'resumed parameters differ from the uninterrupted run');

      const { randomCalls: _, ...older } = saved!.state;
      await resume(older);
      assert.ok(!sameBytes(flat(), uninterrupted), 'a state without randomCalls resumes from call 0, with other masks');
    } finally {
      await pool.close();
    }
  });
});

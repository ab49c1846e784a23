// setParams while a call is really in flight (held in the model by the test's gate, no sleeps): it
// takes effect after the calls made before it, on top of their results. A step running meanwhile keeps
// its update of every parameter the setParams does not name.
import assert from 'node:assert/strict';
import { GradPool, momentum } from '../../src/index.js';
import type { NDArray } from '../../src/index.js';
import { fixture } from '../helpers/env.js';
import { openGate, type Gate } from '../helpers/gate.js';
import { sameBytes } from '../helpers/assert.js';

// The stuck fixture blocks a sample whose first input is 4343 until the test's gate is released.
const HOLD = 4343;
const B = 4;
const x = Float32Array.from({ length: B * 6 }, (_, i) => (i === 0 ? HOLD : Math.cos(i) / HOLD));
const y = new Float32Array(B).fill(0.3);
const options = { model: fixture('stuck'), threads: 1, backend: 'cpu', executor: 'loop', chunkSize: 4, seed: 3 } as const;

describe('pool: setParams during a call', function () {
  let pool: GradPool;
  let reference: GradPool;
  let gate: Gate;
  before(async () => {
    [pool, reference] = await Promise.all([GradPool.create(options), GradPool.create(options)]);
  });
  beforeEach(() => {
    gate = openGate();
  });
  afterEach(() => gate.close());
  after(() => Promise.all([pool?.close(), reference?.close()]));

  /** What `steps` momentum steps on (x, y) from a fresh optimizer give, from where the reference pool is (its gate is open by then). */
  async function referenceAfter(steps: number): Promise<Record<string, NDArray>> {
    const opt = momentum({ learningRate: 0.1, momentum: 0.9 });
    for (let s = 0; s < steps; s++) await reference.step(x, y, { optimizer: opt });
    return reference.getParams();
  }

  it("keeps the running step's update of the parameters it does not name, and applies the ones it names on top", async () => {
    const opt = momentum({ learningRate: 0.1, momentum: 0.9 });
    const initial = pool.getParams();
    const running = pool.step(x, y, { optimizer: opt });
    await gate.started(); // the step is inside the model now
    pool.setParams({ b: [5] });
    assert.deepEqual(Array.from(pool.getParams().b!.data), [5], 'getParams shows the staged value');
    gate.release();
    const r = await running;
    assert.equal(r.step, 1);
    const after = pool.getParams();
    const expected = await referenceAfter(1);
    assert.ok(!sameBytes(after.W!.data, initial.W!.data), 'the step did not change W');
    assert.ok(sameBytes(after.W!.data, expected.W!.data), "W lost the step's update");
    assert.deepEqual(Array.from(after.b!.data), [5]);
    // The optimizer state moved on with the step, consistent with the W it produced.
    assert.equal(pool.getOptimizerState(opt).step, 1);
    // The next call runs on the step's W and the new b.
    const g = await pool.gradient(x.map((v, i) => (i === 0 ? 0.5 : v)), y);
    const ref = await reference.gradient(x.map((v, i) => (i === 0 ? 0.5 : v)), y);
    assert.ok(!sameBytes(g.grads.b!.data, ref.grads.b!.data), 'the next call did not see the new b');
  });

  it('a call made before setParams runs without it, even if it had not started yet; the value lands after it', async () => {
    const opt = momentum({ learningRate: 0.1, momentum: 0.9 });
    pool.setParams({ ...reference.getParams() }); // both pools at the same point, each with a fresh optimizer
    const first = pool.step(x, y, { optimizer: opt }); // held in the model
    await gate.started();
    const second = pool.step(x, y, { optimizer: opt }); // made, queued behind the first
    pool.setParams({ b: [-2] });
    gate.release();
    await Promise.all([first, second]);
    const expected = await referenceAfter(2);
    const after = pool.getParams();
    assert.ok(sameBytes(after.W!.data, expected.W!.data), 'W is not the result of both steps');
    assert.deepEqual(Array.from(after.b!.data), [-2]);
  });
});

// fit's failures say where and what: the dataset row and the step of a failing sample, exactly what
// the fit had applied before it, a one-shot iterator refused before it trains one epoch silently, a
// wrong initialState named by field, and a closed pool named as `fit`.
import assert from 'node:assert/strict';
import { GradPool, momentum, type FitState, type OptimizerSpec } from '../../src/index.js';
import { fixture } from '../helpers/env.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';

// The faulty fixture: a sample whose first input is 555 gives a NaN loss and gradient, 666 throws.
const N = 12;
const rowsWith = (marks: Record<number, number>) => {
  const x = Float32Array.from({ length: N * 6 }, (_, i) => Math.cos(i));
  for (const [row, v] of Object.entries(marks)) x[Number(row) * 6] = v;
  return x;
};
const y = new Float32Array(N).fill(0.3);
const rows = (x: Float32Array, lo: number, hi: number) => ({ x: x.subarray(lo * 6, hi * 6), y: y.subarray(lo, hi) });

describe('train: fit failures', function () {
  let pool: GradPool;
  let start: ReturnType<GradPool['getParams']>;
  const opt = () => momentum({ learningRate: 0.1, momentum: 0.9 });
  const capture = (o: OptimizerSpec) => ({ params: Float32Array.from(Object.values(pool.getParams()).flatMap((p) => Array.from(p.data))), state: pool.getOptimizerState(o) });
  const assertSame = (a: ReturnType<typeof capture>, b: ReturnType<typeof capture>) => {
    assert.ok(sameBytes(a.params, b.params), 'parameters differ');
    assert.equal(a.state.step, b.state.step);
    for (const k of Object.keys(a.state.slots)) assert.ok(sameBytes(a.state.slots[k]!, b.state.slots[k]!), `optimizer slot ${k} differs`);
  };

  before(async () => {
    pool = await GradPool.create({ model: fixture('faulty'), threads: 2, backend: 'cpu', chunkSize: 2, executor: 'loop', seed: 5 });
    start = pool.getParams();
  });
  beforeEach(() => pool.setParams(start));
  after(() => pool?.close());

  it('names the dataset row and the step of a non-finite sample, and says the earlier step was applied', async () => {
    const x = rowsWith({ 5: 555 });
    const o = opt();
    await rejectsExactly(
      pool.fit({ x, y }, { optimizer: o, batchSize: 4, shuffle: false }),
      'fit: step 2 (epoch 0, batch 1): dataset row 5 (sample 1 of the batch) has a non-finite loss or gradient; that step was not applied; 1 earlier step of this fit was applied: parameters and optimizer state are as after step 1',
      'ERR_NON_FINITE_GRADIENT',
    );
    // Exactly step 1 was applied: the same as one step on rows 0–3 from the start.
    const failed = capture(o);
    pool.setParams(start);
    const ref = opt();
    await pool.step(rows(x, 0, 4).x, rows(x, 0, 4).y, { optimizer: ref });
    assertSame(failed, capture(ref));
  });

  it('maps the sample to its dataset row under shuffling too, and a throwing sample likewise', async () => {
    await assert.rejects(pool.fit({ x: rowsWith({ 5: 555 }), y }, { optimizer: opt(), batchSize: 4 }), {
      code: 'ERR_NON_FINITE_GRADIENT',
      message: /^fit: step \d \(epoch 0, batch \d\): dataset row 5 \(sample \d of the batch\) has a non-finite loss or gradient; that step was not applied; /,
    });
    await rejectsExactly(
      pool.fit({ x: rowsWith({ 2: 666 }), y }, { optimizer: opt(), batchSize: 4, shuffle: false }),
      'fit: step 1 (epoch 0, batch 0): dataset row 2 (sample 2 of the batch): bad sample; that step was not applied; no earlier step of this fit was applied: parameters and optimizer state are as before this fit',
      'ERR_SAMPLE_FAILED',
    );
  });

  it('names the sample of the batch for iterable data', async () => {
    const x = rowsWith({ 9: 555 });
    const batches = { async *[Symbol.asyncIterator]() { for (let i = 0; i < N; i += 4) yield rows(x, i, i + 4); } };
    await rejectsExactly(
      pool.fit(batches, { optimizer: opt(), epochs: 2 }),
      'fit: step 3 (epoch 0, batch 2): sample 1 of the batch has a non-finite loss or gradient; that step was not applied; 2 earlier steps of this fit were applied: parameters and optimizer state are as after step 2',
    );
  });

  it('refuses a one-shot async generator for more than one epoch before training, naming data', async () => {
    const x = rowsWith({});
    async function* gen() {
      for (let i = 0; i < N; i += 4) yield rows(x, i, i + 4);
    }
    const o = opt();
    const before = capture(o);
    await rejectsExactly(
      pool.fit(gen(), { optimizer: o, epochs: 2 }),
      'data: expected a restartable async iterable (each epoch calls its [Symbol.asyncIterator]() for a fresh pass) or a function returning a fresh one for 2 epochs, got a one-shot iterator (e.g. an async generator object), which is exhausted after one epoch',
      'ERR_INVALID_OPTION',
    );
    assertSame(capture(o), before);
    // One epoch of it is fine; a function returning a fresh generator per epoch trains every epoch.
    assert.equal((await pool.fit(gen(), { optimizer: opt(), epochs: 1 })).steps, 3);
    const h = await pool.fit(() => gen(), { optimizer: opt(), epochs: 2 });
    assert.equal(h.steps, 6);
    assert.equal(h.history.loss!.length, 2);
    assert.ok(h.history.loss!.every(Number.isFinite));
  });

  it('refuses an iterable that hands back its exhausted iterator, or an empty pass, saying what was applied', async () => {
    const x = rowsWith({});
    const once = (async function* () {
      for (let i = 0; i < N; i += 4) yield rows(x, i, i + 4);
    })();
    await rejectsExactly(
      pool.fit({ [Symbol.asyncIterator]: () => once }, { optimizer: opt(), epochs: 2 }),
      'data: expected a restartable async iterable (each epoch calls its [Symbol.asyncIterator]() for a fresh pass) or a function returning a fresh one, got the same, exhausted iterator again for epoch 1; 3 earlier steps of this fit were applied: parameters and optimizer state are as after step 3',
    );
    let passes = 0;
    const drying = {
      async *[Symbol.asyncIterator]() {
        if (passes++ > 0) return; // a fresh iterator over a source that has run dry
        for (let i = 0; i < N; i += 4) yield rows(x, i, i + 4);
      },
    };
    await rejectsExactly(
      pool.fit(drying, { optimizer: opt(), epochs: 2 }),
      'data: expected at least one batch per epoch, got none for epoch 1; 3 earlier steps of this fit were applied: parameters and optimizer state are as after step 3',
    );
  });

  it('names a wrong initialState by its field instead of failing with a TypeError', async () => {
    const data = { x: rowsWith({}), y };
    await rejectsExactly(
      pool.fit(data, { optimizer: opt(), initialState: { foo: 1 } as never }),
      'initialState.foo: unknown field (expected one of: epoch, batch, globalStep, dpSteps, sampler, history, epochLoss, epochSamples, randomCalls, dp)',
    );
    let state: FitState | undefined;
    await pool.fit(data, { optimizer: opt(), batchSize: 4, onStep: (l) => ((state = l.state()), false) });
    await rejectsExactly(pool.fit(data, { optimizer: opt(), initialState: { ...state!, epoch: -1 } }), 'initialState.epoch: expected a non-negative integer, got -1');
    await rejectsExactly(pool.fit(data, { optimizer: opt(), initialState: { ...state!, sampler: { rng: [1], epochRng: state!.sampler.epochRng } } }), 'initialState.sampler.rng: expected a generator state (an array of 4 or 5 numbers), got [1]');
    const { history: _dropped, ...noHistory } = state!;
    await rejectsExactly(pool.fit(data, { optimizer: opt(), initialState: noHistory as never }), 'initialState.history: expected an object {epoch, history, steps, stopped}, got undefined');
    // The state it came from still resumes.
    assert.equal((await pool.fit(data, { optimizer: opt(), batchSize: 4, initialState: state! })).steps, 3);
  });

  it('after close() says fit, not step', async () => {
    const closed = await GradPool.create({ model: fixture('faulty'), threads: 1, backend: 'cpu', executor: 'loop' });
    await closed.close();
    await rejectsExactly(closed.fit({ x: rowsWith({}), y }, { optimizer: opt() }), 'fit: the pool is closed', 'ERR_POOL_CLOSED');
  });
});

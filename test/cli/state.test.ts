/**
 * Training checkpoints' contents (src/cli/state.ts): version 2 stores each parameter as
 * `param.<name>` and round-trips params, optimizer state and fit state bit-exactly; version-1 files
 * (one flat `params` vector) still restore; anything else is refused naming the file.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointPayload } from '../../src/io/checkpoint.js';
import { capture, checkpointParams, restore, type TrainMeta } from '../../src/cli/state.js';
import { joinFlat } from '../../src/model/define.js';
import { adam, GradPool, type FitState } from '../../src/index.js';
import { sameBytes, throwsExactly } from '../helpers/assert.js';
import { randn } from '../helpers/data.js';
import { fixture } from '../helpers/env.js';
import { scratchDir } from '../io/helpers.js';

describe('cli: training checkpoint state', function () {
  const optimizer = adam({ learningRate: 0.01 });
  let trained: GradPool;
  let fresh: GradPool;
  let state: FitState;
  let dir: string;
  let cleanup: () => void;

  before(async () => {
    ({ dir, cleanup } = scratchDir());
    trained = await GradPool.create({ model: fixture('mlp'), threads: 1, backend: 'cpu', seed: 3 });
    fresh = await GradPool.create({ model: fixture('mlp'), threads: 1, backend: 'cpu', seed: 4 });
    const N = 20;
    const y = new Float32Array(N * 3).map((_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 1 : 0));
    await trained.fit({ x: { shape: [N, 5], data: randn(N * 5, 1) }, y: { shape: [N, 3], data: y } }, { optimizer, batchSize: 6, onStep: (s) => void (state = s.state()) });
  });
  after(async () => {
    await trained.close();
    await fresh.close();
    cleanup();
  });

  // Each test restores into `fresh` from zeros, so nothing carries over from the one before.
  beforeEach(() => {
    const zeros = (o: Record<string, { length: number }>) => Object.fromEntries(Object.entries(o).map(([k, a]) => [k, new Float32Array(a.length)]));
    fresh.setParams(zeros(Object.fromEntries(Object.entries(trained.getParams()).map(([n, p]) => [n, p.data]))));
    fresh.setOptimizerState(optimizer, { step: 0, slots: zeros(trained.getOptimizerState(optimizer).slots) });
  });

  /** Writes `payload` and reads it back, as train does between a save and a resume. */
  const roundTrip = async (payload: CheckpointPayload, step = state.globalStep): Promise<Checkpoint> => readCheckpoint(await writeCheckpoint(dir, step, payload));

  /** Asserts `fresh` now holds exactly `trained`'s params and optimizer state. */
  function assertSameState(): void {
    const want = trained.getParams();
    const got = fresh.getParams();
    assert.deepEqual(Object.keys(got), Object.keys(want));
    for (const n of Object.keys(want)) assert.ok(sameBytes(got[n]!.data, want[n]!.data), n);
    const wantOpt = trained.getOptimizerState(optimizer);
    const gotOpt = fresh.getOptimizerState(optimizer);
    assert.equal(gotOpt.step, wantOpt.step);
    assert.deepEqual(Object.keys(gotOpt.slots), Object.keys(wantOpt.slots));
    for (const k of Object.keys(wantOpt.slots)) assert.ok(sameBytes(gotOpt.slots[k]!, wantOpt.slots[k]!), k);
  }

  it('version 2 stores each parameter by name and restores everything bit-exactly', async () => {
    const payload = capture(trained, optimizer, state, 'hash');
    assert.deepEqual(Object.keys(payload.arrays), ['param.W1', 'param.b1', 'param.W2', 'param.b2', 'opt.m', 'opt.v']);
    assert.deepEqual((payload.meta as TrainMeta).version, 2);
    const ckpt = await roundTrip(payload);
    const fit = restore(fresh, optimizer, ckpt);
    assert.deepEqual(fit, state);
    assertSameState();
  });

  it('reads version 1 checkpoints (one flat params vector in layout order)', async () => {
    const v2 = capture(trained, optimizer, state, 'hash');
    const named = Object.fromEntries(Object.entries(trained.getParams()).map(([n, p]) => [n, p.data]));
    const { 'opt.m': m, 'opt.v': v } = v2.arrays;
    const v1: CheckpointPayload = { meta: { ...(v2.meta as TrainMeta), version: 1 }, arrays: { params: joinFlat(trained.model.layout, named), 'opt.m': m!, 'opt.v': v! } };
    const ckpt = await roundTrip(v1);
    const params = checkpointParams(ckpt, trained.model.layout);
    for (const [n, p] of Object.entries(named)) assert.ok(sameBytes(params[n]!, p), n);
    assert.deepEqual(restore(fresh, optimizer, ckpt), state);
    assertSameState();
  });

  it('refuses what is not a training checkpoint of either version, naming the file', async () => {
    const v2 = capture(trained, optimizer, state, 'hash');
    const meta = v2.meta as TrainMeta;
    const { 'param.b2': _b2, ...withoutB2 } = v2.arrays;
    const cases: [CheckpointPayload, string][] = [
      [{ meta: { step: 1 }, arrays: {} }, 'not a gradpool training checkpoint'],
      [{ meta: { ...meta, version: 3 }, arrays: v2.arrays }, 'unsupported training checkpoint version 3 (expected 1 or 2)'],
      [{ meta, arrays: withoutB2 }, 'param.b2: expected 3 float32 values, got undefined'],
      [{ meta, arrays: { ...v2.arrays, 'param.W1': new Float32Array(19) } }, 'param.W1: expected 20 float32 values, got 19'],
      [{ meta: { ...meta, version: 1 }, arrays: { params: new Float64Array(39) } }, 'params: expected 39 float32 values, got 39'],
      [{ meta: { ...meta, version: 1 }, arrays: v2.arrays }, 'params: expected 39 float32 values, got undefined'],
    ];
    for (const [i, [payload, message]] of cases.entries()) {
      const ckpt = await roundTrip(payload, 1000 + i);
      const file = join(dir, `ckpt-${String(1000 + i).padStart(12, '0')}.gpck`);
      throwsExactly(() => restore(fresh, optimizer, ckpt), `checkpoint ${file}: ${message}`, 'ERR_CHECKPOINT_CORRUPT');
    }
  });
});

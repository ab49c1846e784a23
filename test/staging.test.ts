import assert from 'node:assert/strict';
import { Arena } from '../src/arena.js';
import { ChunkPlan } from '../src/shared/chunks.js';
import { CTL } from '../src/shared/ctl.js';
import { REGION } from '../src/shared/protocol.js';
import { prepareInputs, stageChunks } from '../src/staging.js';

const ramp = (n: number, from = 1) => Float32Array.from({ length: n }, (_, i) => from + i * 0.5);

describe('staging: inputs copied after the tasks are posted', () => {
  it('prepareInputs allocates the regions and leaves the copies for after posting', () => {
    const arena = new Arena();
    const [x, y] = [ramp(10 * 3), ramp(10, 100)];
    const copies = prepareInputs(arena, [[REGION.x, x, 30], [REGION.y, y, 10]], 10);
    assert.deepEqual(copies.map((c) => c.per), [3, 1]);
    assert.ok(arena.view(REGION.x, 30).every((v) => v === 0), 'nothing copied yet');
    assert.equal(copies[0]!.dst.buffer, arena.view(REGION.x).buffer);
  });

  it('an input written into our own buffer (pool.inputBuffer) is not copied at all', () => {
    const arena = new Arena();
    arena.ensure(REGION.x, 30, true);
    const own = arena.view(REGION.x, 30);
    own.set(ramp(30));
    assert.deepEqual(prepareInputs(arena, [[REGION.x, own, 30]], 10), []);
  });

  it("a source in the pool's own shared memory is copied at once: the call's workers may write it", () => {
    const arena = new Arena();
    arena.ensure(REGION.pred, 30);
    const pred = arena.view(REGION.pred, 30); // an earlier call's copy: false result, fed back as x
    pred.set(ramp(30, 7));
    const y = ramp(10);
    assert.deepEqual(prepareInputs(arena, [[REGION.x, pred, 30], [REGION.y, y, 10]], 10), []);
    assert.deepEqual(arena.view(REGION.x, 30), ramp(30, 7));
    assert.deepEqual(arena.view(REGION.y, 10), y);
  });

  it('stageChunks copies every value and has published every chunk by the end', () => {
    const arena = new Arena();
    arena.ensure(REGION.ctl, CTL.LENGTH);
    const ctl = arena.view(REGION.ctl);
    const B = 1000;
    const [x, y] = [ramp(B * 2), ramp(B, -3)];
    const copies = prepareInputs(arena, [[REGION.x, x, B * 2], [REGION.y, y, B]], B);
    const plan = new ChunkPlan(B, 7); // 143 chunks, the last one short
    stageChunks(ctl, plan, copies);
    assert.equal(Atomics.load(ctl, CTL.STAGED), plan.count);
    assert.deepEqual(arena.view(REGION.x, B * 2), x);
    assert.deepEqual(arena.view(REGION.y, B), y);
  });
});

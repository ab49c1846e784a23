import assert from 'node:assert/strict';
import { makeView, OP_REGIONS, opViews, optimizerRegion, paramsRegion, REGION, regionView, type RegionHandles, type RegionSizes } from '../../src/shared/protocol.js';

const sizes: RegionSizes = { batch: 10, chunks: 3, inputSize: 6, targetSize: 1, outputSize: 2, params: 7 };

describe('shared: the region table', () => {
  it('gives each region the length docs/architecture.md states', () => {
    const lengths = Object.fromEntries(Object.entries(REGION).map(([k, r]) => [k, r.length(sizes)]));
    assert.deepEqual(lengths, { ctl: 8, x: 60, y: 10, pred: 20, loss: 10, norms: 10, psg: 70, partial: 21, rowsDone: 3, grad: 7 });
    // An empty batch (a DP step) still has one row of partials to reduce zero chunks of.
    assert.equal(REGION.partial.length({ ...sizes, batch: 0, chunks: 0 }), 7);
    assert.equal(REGION.rowsDone.length({ ...sizes, batch: 0, chunks: 0 }), 1);
  });

  it('names every region once, double-buffered halves and optimizer slots included', () => {
    const names = [...Object.values(REGION).map((r) => r.name), paramsRegion(0).name, paramsRegion(1).name, optimizerRegion(0, 'm', 0).name, optimizerRegion(0, 'm', 1).name, optimizerRegion(1, 'm', 0).name, optimizerRegion(0, 'v', 0).name];
    assert.equal(new Set(names).size, names.length);
  });

  it('every op writes only regions of the table, and the worker views them by kind', () => {
    const handles: RegionHandles = {};
    for (const r of Object.values(REGION)) handles[r.name] = { kind: r.kind, sab: new SharedArrayBuffer(8 * r.length(sizes)) };
    for (const op of Object.keys(OP_REGIONS) as (keyof typeof OP_REGIONS)[]) {
      const views = opViews(handles, op) as Record<string, ArrayBufferView>;
      assert.deepEqual(Object.keys(views), [...OP_REGIONS[op].writes]);
      const byKind = { f32: Float32Array, f64: Float64Array, i32: Int32Array };
      for (const [k, v] of Object.entries(views)) assert.equal(v.constructor, byKind[REGION[k as keyof typeof REGION].kind], `${op}.${k}`);
    }
  });

  it('a missing or mistyped region is an error naming it', () => {
    const handles: RegionHandles = { x: { kind: 'f64', sab: new SharedArrayBuffer(8) } };
    assert.throws(() => regionView(handles, REGION.psg), { message: "worker: missing f32 region 'psg'" });
    assert.throws(() => regionView(handles, REGION.x), { message: "worker: missing f32 region 'x'" });
  });

  it('views share the memory: what one side writes, the other reads', () => {
    const sab = new SharedArrayBuffer(16);
    makeView('f32', sab)[2] = 1.5;
    assert.equal(regionView({ y: { kind: 'f32', sab } }, REGION.y)[2], 1.5);
    assert.equal(makeView('f32', sab, 2).length, 2);
  });
});

// The ordered fold against the single-node reduction (reducePartials), on partials whose sum
// depends on the order of the additions: every split of the chunks over 1-5 ranks gives the same
// float64 bits, and pre-summing each rank's chunks (what the fold avoids) does not.
import assert from 'node:assert/strict';
import { addPart, decodeFold, encodeFold, type FoldSums } from '../../src/cluster/exchange.js';
import { chunkRange } from '../../src/cluster/options.js';
import { reducePartials } from '../../src/shared/reduce.js';
import { Rng } from '../../src/rng.js';

const C = 7;
const P = 500;
const r = new Rng(11);
// Magnitudes from 1e-8 to 1e8 with both signs: float64 sums of these round differently per order.
const partial = Float64Array.from({ length: C * P }, () => (r.uniform() - 0.5) * 10 ** Math.floor(r.uniform() * 17 - 8));
const want = new Float64Array(P);
const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
reducePartials(partial, C, P, want);

function fold(nodes: number, presum: boolean): Float64Array {
  let acc: FoldSums = { lossSum: 0, clipped: 0, badSample: -1, failure: null, sum: new Float64Array(P) };
  for (let rank = 0; rank < nodes; rank++) {
    const [lo, hi] = chunkRange(C, nodes, rank);
    let rows = partial.subarray(lo * P, hi * P);
    if (presum && hi - lo > 1) {
      const own = new Float64Array(P);
      reducePartials(rows, hi - lo, P, own);
      rows = own;
    }
    addPart(acc, { rows: presum && hi - lo > 1 ? 1 : hi - lo, partial: rows, loss: null, clipped: 0, badSample: -1, failure: null }, P);
    // What travels to the next rank: encoded and decoded, as on the wire.
    acc = decodeFold(encodeFold(acc), P) as FoldSums;
  }
  return acc.sum;
}

describe('cluster: the ordered fold', () => {
  it('gives the single-node reduction bit for bit for 1-5 ranks', () => {
    for (let n = 1; n <= 5; n++) assert.ok(bytes(fold(n, false)).equals(bytes(want)), `${n} ranks`);
  });

  it('the test data is order-sensitive: pre-summing each rank\'s chunks changes bits', () => {
    const differ = [2, 3].map((n) => fold(n, true).some((v, k) => v !== want[k]));
    assert.deepEqual(differ, [true, true]);
  });

  it('chunk ranges are contiguous, in rank order, and cover every chunk once', () => {
    for (const [count, nodes] of [[0, 3], [1, 3], [2, 3], [7, 3], [96, 16]] as const) {
      let next = 0;
      for (let rank = 0; rank < nodes; rank++) {
        const [lo, hi] = chunkRange(count, nodes, rank);
        assert.equal(lo, next);
        assert.ok(hi >= lo);
        next = hi;
      }
      assert.equal(next, count);
    }
  });

  it('a failure travels instead of the sums, the lowest sample first', () => {
    const acc: FoldSums = { lossSum: 0, clipped: 0, badSample: -1, failure: { code: 'ERR_WORKER_CRASHED', message: 'crash' }, sum: new Float64Array(P) };
    addPart(acc, { rows: 0, partial: null, loss: null, clipped: 0, badSample: -1, failure: { code: 'ERR_SAMPLE_FAILED', message: 'sample 9 threw', sample: 9 } }, P);
    const back = decodeFold(encodeFold(acc), P) as FoldSums;
    assert.deepEqual(back.failure, { code: 'ERR_SAMPLE_FAILED', message: 'sample 9 threw', sample: 9 });
  });
});

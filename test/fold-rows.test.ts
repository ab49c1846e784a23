// Folding a sumGrads' partial rows on the coordinator while the workers run (src/fold-rows.ts): the
// same bits as reducing every row at once, whatever order the rows are flagged in; done as soon as
// the last row is in, without waiting for the run; null when the run fails first. The pool-level
// check is test/pool/determinism.test.ts: on a machine of more than one core a 1-thread pool folds
// and its 2-, 3- and 4-thread pools do not, and all must give the same bits.
import assert from 'node:assert/strict';
import { foldWhileRunning, RowFolder } from '../src/fold-rows.js';
import { reducePartials } from '../src/shared/reduce.js';

const W = 300; // wider than the SIMD threshold, not a multiple of the kernel's block
const C = 5;
/** Rows whose sums round differently in another order: values over 2^-30..2^30. */
function rows(seed: number): Float64Array {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Float64Array.from({ length: C * W }, () => Math.fround((next() - 0.5) * 2 ** (((next() * 60) | 0) - 30)));
}
const bitsOf = (a: Float64Array) => Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length));
/** reducePartials' sums over all rows at once (scale 1): what the folded accumulator must equal. */
function reference(partial: Float64Array): Float64Array {
  const out = new Float64Array(W);
  reducePartials(partial, C, W, out);
  return out;
}
/** A run that has not settled, and its switches. */
function pendingRun() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const run = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  run.catch(() => undefined);
  return { run, resolve, reject };
}
const flag = (flags: Int32Array, c: number) => (Atomics.store(flags, c, 1), Atomics.notify(flags, c));
/** Lets the folder's wait see the flags set so far (its wake-up is a task of this thread's loop). */
const turn = () => new Promise<void>((r) => setImmediate(r));

describe('RowFolder: folding partial rows while the run runs', () => {
  it("flagged out of order, folds in chunk order to reducePartials' bits, and is done before the run settles", async () => {
    const partial = rows(7);
    const flags = new Int32Array(new SharedArrayBuffer(4 * C));
    const { run } = pendingRun(); // never settles: the fold must end on the rows alone
    const folder = new RowFolder();
    let result: Float64Array | null | undefined;
    const done = folder.fold(flags, partial, C, W, run).then((r) => (result = r));
    for (const c of [3, 1, 4]) flag(flags, c);
    await turn();
    assert.equal(result, undefined, 'row 0 is not flagged yet: nothing can be folded, the fold waits');
    flag(flags, 0);
    await turn();
    assert.equal(result, undefined, 'rows 0 and 1 are in; row 2 is missing');
    flag(flags, 2);
    await done;
    assert.ok(result);
    assert.deepEqual(bitsOf(result), bitsOf(reference(partial)));
  });

  it('the rows of these tests sum to other bits in another order (so the bit checks can fail)', () => {
    const partial = rows(7);
    const reversed = new Float64Array(C * W);
    for (let c = 0; c < C; c++) reversed.set(partial.subarray((C - 1 - c) * W, (C - c) * W), c * W);
    assert.notDeepEqual(bitsOf(reference(reversed)), bitsOf(reference(partial)));
  });

  it('starts from zero again on the next fold (the accumulator is reused)', async () => {
    const folder = new RowFolder();
    for (const seed of [1, 2]) {
      const partial = rows(seed);
      const flags = new Int32Array(new SharedArrayBuffer(4 * C)).fill(1);
      const r = await folder.fold(flags, partial, C, W, pendingRun().run);
      assert.deepEqual(bitsOf(r!), bitsOf(reference(partial)), `fold ${seed}`);
    }
  });

  it('ends with null when the run fails before every row is in, and when it succeeds with rows missing', async () => {
    for (const outcome of ['reject', 'resolve'] as const) {
      const flags = new Int32Array(new SharedArrayBuffer(4 * C));
      const r = pendingRun();
      const done = new RowFolder().fold(flags, rows(3), C, W, r.run);
      flag(flags, 0);
      await turn();
      if (outcome === 'reject') r.reject(new Error('a worker failed'));
      else r.resolve();
      assert.equal(await done, null, outcome);
    }
  });

  it('is used only with a core to spare for the coordinator', () => {
    assert.equal(foldWhileRunning(1, 2), true);
    assert.equal(foldWhileRunning(2, 2), false);
    assert.equal(foldWhileRunning(4, 2), false);
    assert.equal(foldWhileRunning(3, 8), true);
  });
});

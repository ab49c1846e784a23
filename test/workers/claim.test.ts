import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { abortClaims, CTL } from '../../src/shared/ctl.js';
import { arriveAndWait, claim } from '../../workers/claim.js';

const counter = () => new Int32Array(new SharedArrayBuffer(4 * CTL.LENGTH));

describe('workers: claim', () => {
  it('one claimer does every unit once, in order, and reports the count', () => {
    const seen: number[] = [];
    assert.equal(claim(counter(), 5, (u) => seen.push(u)), 5);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  });

  it('takes only what other claimers left', () => {
    const ctl = counter();
    Atomics.store(ctl, CTL.CLAIM, 3); // units 0-2 went to other workers
    const seen: number[] = [];
    assert.equal(claim(ctl, 5, (u) => seen.push(u)), 2);
    assert.deepEqual(seen, [3, 4]);
  });

  it('stops claiming once any worker has aborted', () => {
    const ctl = counter();
    const seen: number[] = [];
    const done = claim(ctl, 100, (u) => {
      seen.push(u);
      if (u === 2) abortClaims(ctl);
    });
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(done, 3);
  });

  it('the update barrier: the last arrival passes; a non-finite chunk (BAD) or an abort stops the update', () => {
    const ctl = counter();
    Atomics.store(ctl, CTL.ARRIVED, 1); // the other worker arrived first
    assert.equal(arriveAndWait(ctl, 2, false), true);
    assert.equal(Atomics.load(ctl, CTL.ARRIVED), 2);
    const bad = counter();
    assert.equal(arriveAndWait(bad, 1, true), false, 'its own non-finite chunk');
    const other = counter();
    Atomics.store(other, CTL.BAD, 1);
    assert.equal(arriveAndWait(other, 1, false), false, "another worker's non-finite chunk");
    const aborted = counter();
    abortClaims(aborted); // a worker failed: the barrier does not wait for it
    assert.equal(arriveAndWait(aborted, 2, false), false);
  });

  it('four threads racing for 20,000 units do each exactly once', async () => {
    const units = 20000;
    const ctl = counter();
    const marks = new Int32Array(new SharedArrayBuffer(4 * units));
    const src = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.claimUrl).then(({ claim }) => {
        const ctl = new Int32Array(workerData.ctl);
        const marks = new Int32Array(workerData.marks);
        parentPort.postMessage(claim(ctl, workerData.units, (u) => Atomics.add(marks, u, 1)));
      });`;
    const claimUrl = new URL('../../workers/claim.js', import.meta.url).href;
    const counts = await Promise.all(
      Array.from({ length: 4 }, () => {
        const w = new Worker(src, { eval: true, workerData: { claimUrl, ctl: ctl.buffer, marks: marks.buffer, units } });
        return new Promise<number>((res, rej) => {
          w.once('message', (n: number) => void w.terminate().then(() => res(n)));
          w.once('error', rej);
        });
      }),
    );
    assert.equal(counts.reduce((a, b) => a + b, 0), units);
    assert.ok(marks.every((m) => m === 1), 'every unit claimed exactly once');
  });
});

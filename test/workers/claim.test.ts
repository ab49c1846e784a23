import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { abortClaims, CTL } from '../../src/shared/ctl.js';
import { arriveAndWait, claim, waitStaged } from '../../workers/claim.js';

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

  it('with staged inputs, a thread runs chunk c only once CTL.STAGED > c', async () => {
    const units = 4;
    const ctl = counter();
    // ran[u] = STAGED as the thread saw it when it ran chunk u (+1, so 0 means "not run"); ran[units] counts runs.
    const ran = new Int32Array(new SharedArrayBuffer(4 * (units + 1)));
    const src = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.claimUrl).then(({ claim }) => {
        const [ctl, ran] = [new Int32Array(workerData.ctl), new Int32Array(workerData.ran)];
        parentPort.postMessage(claim(ctl, workerData.units, (u) => {
          ran[u] = Atomics.load(ctl, workerData.STAGED) + 1;
          Atomics.add(ran, workerData.units, 1);
          Atomics.notify(ran, workerData.units);
        }, workerData.CLAIM, true));
      });`;
    const claimUrl = new URL('../../workers/claim.js', import.meta.url).href;
    const w = new Worker(src, { eval: true, workerData: { claimUrl, ctl: ctl.buffer, ran: ran.buffer, units, STAGED: CTL.STAGED, CLAIM: CTL.CLAIM } });
    const done = new Promise<number>((res, rej) => {
      w.once('message', (n: number) => void w.terminate().then(() => res(n)));
      w.once('error', rej);
    });
    for (let k = 1; k <= units; k++) {
      assert.equal(ran[k - 1], 0, `chunk ${k - 1} ran before it was staged`);
      Atomics.store(ctl, CTL.STAGED, k);
      Atomics.notify(ctl, CTL.STAGED);
      // Gate on the thread's own count, not a sleep: chunk k-1 is now allowed, chunk k is not.
      while (Atomics.load(ran, units) < k) Atomics.wait(ran, units, Atomics.load(ran, units), 50);
    }
    assert.equal(await done, units);
    ran.subarray(0, units).forEach((seen, u) => assert.ok(seen - 1 > u, `chunk ${u} ran when ${seen - 1} chunks were staged`));
  });

  it('waitStaged: true once the chunk is staged, false once the call aborted (it does not wait on)', () => {
    const ctl = counter();
    Atomics.store(ctl, CTL.STAGED, 3);
    assert.equal(waitStaged(ctl, 2), true);
    abortClaims(ctl);
    assert.equal(waitStaged(ctl, 3), false);
    assert.equal(claim(ctl, 5, () => assert.fail('ran a chunk of an aborted call'), CTL.CLAIM, true), 0);
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

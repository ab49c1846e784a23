import { CTL } from '../src/shared/ctl.js';

/**
 * Claims work units (chunks of the batch, or slices of the parameters) from the shared counter until
 * none are left or another worker has failed, running `work` on each. Which worker gets which unit
 * is a race, and harmless: a unit's result depends only on the unit. Returns how many units this
 * worker did.
 */
export function claim(ctl: Int32Array, units: number, work: (unit: number) => void, counter: number = CTL.CLAIM): number {
  let done = 0;
  for (;;) {
    if (Atomics.load(ctl, CTL.ABORT) !== 0) break;
    const u = Atomics.add(ctl, counter, 1);
    if (u >= units) break;
    work(u);
    done++;
  }
  return done;
}

/**
 * The barrier before a fused update (ChunkTask.update): this worker is done with its chunks (`bad`:
 * one had a non-finite sample); waits until all `parties` are, or one failed. Returns whether the
 * update may run: every chunk finished, none non-finite, no worker failed.
 */
export function arriveAndWait(ctl: Int32Array, parties: number, bad: boolean): boolean {
  if (bad) Atomics.store(ctl, CTL.BAD, 1);
  Atomics.add(ctl, CTL.ARRIVED, 1);
  Atomics.notify(ctl, CTL.ARRIVED);
  for (;;) {
    if (Atomics.load(ctl, CTL.ABORT) !== 0) return false;
    const arrived = Atomics.load(ctl, CTL.ARRIVED);
    if (arrived >= parties) return Atomics.load(ctl, CTL.BAD) === 0;
    // Woken by the last arrival or by an abort (abortClaims; the coordinator's on a worker's crash);
    // the timeout only bounds a missed wake-up.
    Atomics.wait(ctl, CTL.ARRIVED, arrived, 100);
  }
}

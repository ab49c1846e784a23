import { CTL } from '../src/shared/protocol.js';

/**
 * Claims work units (chunks of the batch, or slices of the parameters) from the shared counter until
 * none are left or another worker has failed, running `work` on each. Which worker gets which unit
 * is a race, and harmless: a unit's result depends only on the unit. Returns how many units this
 * worker did.
 */
export function claim(ctl: Int32Array, units: number, work: (unit: number) => void): number {
  let done = 0;
  for (;;) {
    if (Atomics.load(ctl, CTL.ABORT) !== 0) break;
    const u = Atomics.add(ctl, CTL.CLAIM, 1);
    if (u >= units) break;
    work(u);
    done++;
  }
  return done;
}

/** Tells the other workers of this call to stop claiming (this one failed). */
export function abortClaims(ctl: Int32Array): void {
  Atomics.store(ctl, CTL.ABORT, 1);
}

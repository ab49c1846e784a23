import { CTL } from '../src/shared/ctl.js';

/**
 * Claims work units (chunks of the batch, or slices of the parameters) from the shared counter until
 * none are left or another worker has failed, running `work` on each; with `staged`, each chunk once
 * its inputs are in ({@link waitStaged}). Which worker gets which unit
 * is a race, and harmless: a unit's result depends only on the unit. Returns how many units this
 * worker did.
 */
export function claim(ctl: Int32Array, units: number, work: (unit: number) => void, counter: number = CTL.CLAIM, staged = false): number {
  let done = 0;
  for (;;) {
    if (Atomics.load(ctl, CTL.ABORT) !== 0) break;
    const u = Atomics.add(ctl, counter, 1);
    if (u >= units) break;
    if (staged && !waitStaged(ctl, u)) break;
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

/** How long a worker spins for a chunk's inputs before parking: the coordinator copies ~10 µs a chunk. */
const STAGED_SPIN_MS = 0.05;

/**
 * Waits until chunk `c`'s inputs are staged (`CTL.STAGED` > c; src/staging.ts), or the call aborted
 * (returns false). The coordinator stages right after posting, faster than a chunk computes, so a
 * short spin usually suffices; parking costs a wake-up (~0.05–0.1 ms on these VMs).
 */
export function waitStaged(ctl: Int32Array, c: number): boolean {
  const spinUntil = performance.now() + STAGED_SPIN_MS;
  for (;;) {
    const staged = Atomics.load(ctl, CTL.STAGED);
    if (staged > c) return true;
    if (Atomics.load(ctl, CTL.ABORT) !== 0) return false;
    // Woken by the coordinator's next publish or by an abort; the timeout only bounds a missed wake-up.
    if (performance.now() > spinUntil) Atomics.wait(ctl, CTL.STAGED, staged, 100);
  }
}

/**
 * A gate between a test and a model running in a pool's worker, so a test can act while a call is
 * really in flight — no sleeps. The worker asks for the gate over a BroadcastChannel (it may be a
 * fresh replacement worker that loaded the model after the test opened the gate), gets this test's
 * SharedArrayBuffer, counts itself in, and then blocks or spins; the test awaits the count with
 * Atomics.waitAsync and releases blocked workers with Atomics.notify.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { waitAsync } from '../../src/shared/wait-async.js';

/** The channel the stuck fixture model asks on. */
export const GATE_CHANNEL = 'gradpool-test-gate';
/** Slots of the gate's Int32Array: how many model calls have started, and whether they may go on. */
export const GATE = { STARTED: 0, RELEASED: 1, LENGTH: 2 } as const;

/** A worker's request for the gate, and the test's answer to it. */
export interface GateAsk {
  ask: string;
}
export interface GateAnswer {
  to: string;
  sab: SharedArrayBuffer;
}

/** The test side of a gate; close it when the test is done. */
export interface Gate {
  /** Resolves once `n` model calls (in any workers) have reached the gate. */
  started(n?: number): Promise<void>;
  /** Lets every blocked model call (and later ones) go on. */
  release(): void;
  /** How many model calls have reached the gate so far. */
  readonly count: number;
  close(): void;
}

/** Opens a gate: from now on, the stuck fixture's sentinel samples report to this test. */
export function openGate(): Gate {
  const sab = new SharedArrayBuffer(GATE.LENGTH * 4);
  const a = new Int32Array(sab);
  const channel = new BroadcastChannel(GATE_CHANNEL);
  channel.onmessage = (e) => {
    const m = (e as MessageEvent).data as Partial<GateAsk>;
    if (typeof m.ask === 'string') channel.postMessage({ to: m.ask, sab } satisfies GateAnswer);
  };
  return {
    async started(n = 1) {
      for (let v = Atomics.load(a, GATE.STARTED); v < n; v = Atomics.load(a, GATE.STARTED)) await waitAsync!(a, GATE.STARTED, v).value;
    },
    release() {
      Atomics.store(a, GATE.RELEASED, 1);
      Atomics.notify(a, GATE.RELEASED);
    },
    get count() {
      return Atomics.load(a, GATE.STARTED);
    },
    close() {
      channel.close();
    },
  };
}

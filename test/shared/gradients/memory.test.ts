// No tensor leaks: 1,000 first-order and 1,000 second-order gradients through each kernel whose
// gradient gradpool registers leave tf.memory() where it was (on cpu: the configs run above the
// kernels, so the backend does not change what they keep).
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { SECOND_ORDER_GRADIENTS } from '../../../src/shared/gradients/index.js';
import { withBackend } from '../../helpers/env.js';
import { PROBES, probeArgs, type Probe } from '../kernels/gradient-probes.js';

type T = tf.Tensor;
const CALLS = 1000;

/** Loss Σ f² of the probe in its float arguments (others fixed), so the second order reaches every gradient's dy too. */
function lossOf(probe: Extract<Probe, { f: unknown }>, args: T[], float: number[]) {
  return (...xs: T[]) => {
    const all = args.slice();
    float.forEach((k, j) => (all[k] = xs[j]!));
    return tf.sum(tf.square(tf.cast(probe.f(...all), 'float32')));
  };
}

describe('second-order gradients: no tensor leaks over 1,000 calls', function () {
  this.timeout(120_000);
  withBackend('cpu');

  for (const config of SECOND_ORDER_GRADIENTS) {
    it(`${config.kernelName}: tf.grads and grad of ⟨tf.grads, v⟩`, () => {
      const probe = PROBES[config.kernelName] as Extract<Probe, { f: unknown }>;
      const args = probeArgs(probe);
      const float = args.flatMap((a, k) => (a.dtype === 'float32' ? [k] : []));
      const xs = float.map((k) => args[k]!);
      const vs = xs.map((x) => tf.onesLike(x));
      const loss = lossOf(probe, args, float);
      const first = () => tf.tidy(() => tf.grads(loss)(xs));
      const second = () =>
        tf.tidy(() => tf.grads((...ys: T[]) => tf.addN(tf.grads(loss)(ys).map((g, j) => tf.sum(tf.mul(g, vs[j]!)))))(xs));
      try {
        tf.dispose([...first(), ...second()]); // warm-up: tfjs caches scalars on first use
        const before = tf.memory();
        for (let i = 0; i < CALLS; i++) tf.dispose(first());
        for (let i = 0; i < CALLS; i++) tf.dispose(second());
        const after = tf.memory();
        assert.deepEqual([after.numTensors, after.numDataBuffers], [before.numTensors, before.numDataBuffers]);
      } finally {
        tf.dispose([...args, ...vs]);
      }
    });
  }
});

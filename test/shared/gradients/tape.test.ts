// The tape helpers the second-order gradient configs are written with.
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { constant, inputsIfNested, outputOf, recording } from '../../../src/shared/gradients/tape.js';
import { disposeAbandonedTape } from '../../../src/shared/batching/engine.js';
import { withBackend } from '../../helpers/env.js';

type T = tf.Tensor;

describe('second-order gradients: tape helpers', () => {
  withBackend('cpu');

  it('recording() is false outside any gradient, true inside the function tf.grads records', () => {
    assert.equal(recording(), false);
    let inside = false;
    tf.tidy(() => tf.grads((x: T) => ((inside = recording()), tf.square(x)))([tf.scalar(2)]));
    assert.equal(inside, true, 'the function tf.grads records is on the tape');
  });

  it('constant() is a stop-gradient: d/dx (x + c(x²)) = 1, and the tape state survives a throw', () => {
    const [g] = tf.tidy(() => tf.grads((x: T) => tf.add(x, constant(() => tf.square(x))))([tf.scalar(3)]));
    assert.equal(g!.dataSync()[0], 1);
    g!.dispose();
    assert.throws(() => tf.tidy(() => tf.grads((x: T) => constant(() => { throw new Error('mask failed'); }))([tf.scalar(1)])), /mask failed/);
    disposeAbandonedTape();
    const [h] = tf.tidy(() => tf.grads((x: T) => tf.square(x))([tf.scalar(3)]));
    assert.equal(h!.dataSync()[0], 6, 'recording again after the throw');
    h!.dispose();
  });

  it('inputsIfNested() names the inputs only under two or more tf.grads (the only forward whose gradient can be recorded)', () => {
    const seen: string[][] = [];
    const probe = (x: T) => (seen.push(inputsIfNested(['x'])), tf.square(x));
    tf.tidy(() => tf.grads(probe)([tf.scalar(2)]));
    tf.tidy(() => tf.grads((x: T) => tf.sum(tf.grads(probe)([x])[0]!))([tf.scalar(2)]));
    assert.deepEqual(seen, [[], ['x']]);
  });

  it('outputOf() returns the saved output itself when nothing records, and a recorded recomputation (same bits) when something does', () => {
    const x = tf.tensor([0.25, -1.5]);
    const y = tf.tanh(x);
    assert.equal(outputOf(tf.Tanh, ['x'], [y], {}), y);
    assert.equal(outputOf(tf.Tanh, ['x'], [x, y], {}), y);
    let again: Float32Array | undefined;
    const [g] = tf.tidy(() =>
      tf.grads((z: T) => {
        const out = outputOf(tf.Tanh, ['x'], [z, y], {});
        again = out.dataSync() as Float32Array;
        return tf.sum(out);
      })([x]),
    );
    assert.deepEqual(again, y.dataSync());
    // d/dz Σ tanh(z) = 1 − tanh²(z): the recomputation is on the tape, the saved y was not.
    assert.deepEqual(Array.from(g!.dataSync()), Array.from(y.dataSync(), (t) => Math.fround(1 - Math.fround(t * t))));
    // Recording without the saved input: refused, not a silently constant output.
    assert.throws(() => tf.tidy(() => tf.grads((z: T) => tf.add(z, outputOf(tf.Tanh, ['x'], [y], {})))([x])), /second-order gradient of Tanh: its inputs were not saved/);
    disposeAbandonedTape();
    tf.dispose([x, y, g!]);
  });
});

// The classic question: "I have a model for ONE sample (a tensordot of a [3,2] input with a [3,2,1]
// weight, plus a bias). How do I run it on a batch, and get every sample's gradient?"
// This runs it both ways — an unbatched loop, and gradpool's pool — and checks they agree.
//
//   node dist/examples/seed-tensordot/run.js
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { GradPool } from 'gradpool';
import model from './model.js';

const B = 256;
await tf.setBackend('wasm');
// Seeded data: the same batch on every run.
const x = tf.randomNormal([B, 3, 2], 0, 1, 'float32', 2024).dataSync() as Float32Array;
const y = tf.randomNormal([B, 1], 0, 1, 'float32', 2025).dataSync() as Float32Array;

const pool = await GradPool.create({ model: new URL('./model.js', import.meta.url), threads: 2, seed: 7 });
const params = pool.getParams();

// 1. The unbatched loop, on the main thread: forward and tf.grads one sample at a time.
const W = tf.tensor(params.W!.data, params.W!.shape);
const b = tf.tensor(params.b!.data, params.b!.shape);
const loopPred: number[] = [];
const loopGradW: number[] = [];
const loopGradB: number[] = [];
for (let i = 0; i < B; i++) {
  tf.tidy(() => {
    const xi = tf.tensor(x.subarray(i * 6, i * 6 + 6), [3, 2]);
    const yi = tf.tensor(y.subarray(i, i + 1), [1]);
    loopPred.push(...model.forward({ W, b }, xi).dataSync());
    const [gW, gb] = tf.grads((w: tf.Tensor, bb: tf.Tensor) => model.loss(model.forward({ W: w, b: bb }, xi), yi))([W, b]);
    loopGradW.push(...gW!.dataSync());
    loopGradB.push(...gb!.dataSync());
  });
}

// 2. The pool: the same single-sample model, batched across worker threads.
const pred = await pool.predict(x); // [B, 1]
const { grads } = await pool.perSampleGrads(x, y); // grads.W: [B, 3, 2, 1], grads.b: [B, 1]
await pool.close();

function allclose(name: string, a: ArrayLike<number>, e: ArrayLike<number>, rtol = 1e-5, atol = 1e-7): void {
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (atol + rtol * Math.abs(e[i]!)));
  const ok = a.length === e.length && worst <= 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${e.length} values, allclose(rtol=${rtol}, atol=${atol})${ok ? '' : ` worst/allowed ${worst.toFixed(2)}`}`);
  if (!ok) process.exitCode = 1;
}
console.log(`seed tensordot model, batch ${B}, 2 threads, backend wasm`);
console.log(`predict shape [${pred.shape}], per-sample grads W [${grads.W!.shape}], b [${grads.b!.shape}]`);
allclose('pool.predict vs the unbatched forward loop', pred.data, loopPred);
allclose('per-sample dL/dW vs tf.grads per sample', grads.W!.data, loopGradW);
allclose('per-sample dL/db vs tf.grads per sample', grads.b!.data, loopGradB);

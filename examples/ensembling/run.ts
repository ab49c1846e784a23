// torch.func's "Model ensembling" tutorial, for TensorFlow.js: K copies of the MNIST MLP with their
// own parameters, run on one minibatch and on K minibatches, two ways — vmap over the stacked
// parameters (the tutorial's `vmap(fmodel, in_dims=(0, 0, None))`), and gradpool's ensemble pool,
// whose member k is exactly a pool seeded seed + k — checked against the loop over the models.
//
//   node dist/examples/ensembling/run.js
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { GradPool, vmap } from 'gradpool';
import model from '../mnist/model.js';

const K = 4;
const B = 64;
await tf.setBackend('wasm');
const x = tf.randomNormal([B, 784], 0, 1, 'float32', 7);
const xs = tf.randomNormal([K, B, 784], 0, 1, 'float32', 8); // a different minibatch per model

// The ensemble: K independent MLPs in one pool (torch: stack_module_state of K models).
const ens = await GradPool.create<typeof model>({ model: new URL('../mnist/model.js', import.meta.url), ensemble: K, seed: 0, threads: 2 });
const stacked = Object.fromEntries(Object.entries(ens.getParams()).map(([k, v]) => [k, tf.tensor(v.data, v.shape)])) as Record<keyof typeof model.params, tf.Tensor>;

// One model on one sample, as the pool's workers run it.
const forward = (p: Record<string, tf.Tensor>, xi: tf.Tensor) => model.forward(p as never, xi);
// torch: vmap(fmodel, in_dims=(0, 0, None)): every model on the same minibatch, [K, B, 10]
const sameBatch = vmap(vmap(forward, { inAxes: [null, 0] }), { inAxes: [0, null] });
// torch: vmap(fmodel)(params, buffers, minibatches): model k on minibatch k
const ownBatch = vmap(vmap(forward, { inAxes: [null, 0] }), { inAxes: [0, 0] });

// The oracle: a loop over the models and the samples, plain tfjs.
const member = (k: number) => Object.fromEntries(Object.entries(stacked).map(([n, t]) => [n, tf.gather(t, k)]));
const loop = (batch: (k: number) => tf.Tensor) =>
  tf.tidy(() => tf.stack([...Array(K).keys()].map((k) => tf.stack([...Array(B).keys()].map((i) => forward(member(k), tf.gather(batch(k), i)))))));

let failed = false;
// atol 1e-5: a logit is a 784-term float32 dot product, summed in another order by the batched kernels.
function allclose(name: string, a: tf.Tensor, e: tf.Tensor, rtol = 1e-5, atol = 1e-5): void {
  const [av, ev] = [a.dataSync(), e.dataSync()];
  let worst = 0;
  for (let i = 0; i < ev.length; i++) worst = Math.max(worst, Math.abs(av[i]! - ev[i]!) / (atol + rtol * Math.abs(ev[i]!)));
  const ok = tf.util.arraysEqual(a.shape, e.shape) && worst <= 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name} [${a.shape}]: allclose(rtol=${rtol}, atol=${atol}) to the loop, worst/allowed ${worst.toFixed(3)}`);
  failed ||= !ok;
}

const want = loop(() => x);
allclose('vmap, the same minibatch for every model', sameBatch(stacked, x), want);
allclose('vmap, minibatch k for model k', ownBatch(stacked, xs), loop((k) => tf.gather(xs, k)));
const pred = await ens.predict(x.dataSync() as Float32Array);
allclose('ensemble pool predict', tf.tensor(pred.data, pred.shape), want);

// Each member of the ensemble is a pool of its own seed, bit for bit.
const single = await GradPool.create<typeof model>({ model: new URL('../mnist/model.js', import.meta.url), seed: 2, threads: 2 });
const mine = await single.predict(x.dataSync() as Float32Array);
const same = mine.data.every((v, i) => Object.is(v, pred.data[2 * B * 10 + i]));
console.log(`${same ? 'ok  ' : 'FAIL'} ensemble member 2 is the pool seeded 2, bit for bit`);
failed ||= !same;
await Promise.all([ens.close(), single.close()]);
if (failed) process.exitCode = 1;

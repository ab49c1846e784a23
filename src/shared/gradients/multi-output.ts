/**
 * Unpack's and SplitV's gradients, re-registered because tfjs's fail when the kernel has a single
 * output (tf.unstack of a [1, n] tensor, tf.split into 1 piece): the engine hands a single-output
 * kernel's gradient its dy bare, not in an array (tfjs-core 4.22 engine.js addTapeNode: `dys.length >
 * 1 ? dys : dys[0]`), and tfjs's Unpack_grad / SplitV_grad pass it to stack / concat, which refuse a
 * bare tensor. So `tf.grad((x) => tf.unstack(x)[0].sum())` threw on x of shape [1, n]. Each config is
 * tfjs's own, same ops, with dy put back in an array; with several outputs it runs exactly tfjs's ops.
 */
import * as tf from '@tensorflow/tfjs';

type T = tf.Tensor;
const asList = (dy: T | T[]) => (Array.isArray(dy) ? dy : [dy]);

/** Unpack's outputs are the slices along `axis`: their gradients stack back along it. */
export const unpackGradient: tf.GradConfig = {
  kernelName: tf.Unpack,
  gradFunc: (dy, _saved, attrs) => ({ value: () => tf.stack(asList(dy), attrs.axis as number) }),
};

/** SplitV's outputs are pieces along `axis`: their gradients concatenate back along it. */
export const splitVGradient: tf.GradConfig = {
  kernelName: tf.SplitV,
  gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(asList(dy), attrs.axis as number) }),
};

export const MULTI_OUTPUT_GRADIENTS: readonly tf.GradConfig[] = [unpackGradient, splitVGradient];

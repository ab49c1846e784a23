/**
 * UnsortedSegmentSum (the gradient of tf.gather with respect to its params, i.e. of every embedding
 * lookup; tfjs-backend-wasm has none): out[s, ...] = sum of x[i, ...] over the i with segmentIds[i] = s.
 * Built on wasm's ScatterNd, which adds duplicate indices together: O(ids * row) work, where the
 * one-hot-matmul alternative costs ids * numSegments * row (a vocabulary-sized factor for embeddings).
 *
 * ScatterNd does not check its indices (an id outside [0, numSegments) writes outside the output
 * buffer, into the wasm heap), so the ids are read first; they are small and live in wasm memory.
 * Ids that are out of range or not integers are dropped, as tfjs-backend-cpu drops them (it compares
 * every id with 0..numSegments-1): they are redirected to one extra row that is cropped away.
 * Segment ids of any rank index x's leading axes (TensorFlow's definition; cpu handles only 1-D ids).
 * The output has x's dtype (cpu's is float32 even for int32 x).
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';

export const unsortedSegmentSumConfig = composite(tf.UnsortedSegmentSum, (c, { x, segmentIds }, attrs) => {
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const ids = segmentIds!;
  const K = tf.util.sizeFromShape(ids.shape);
  const rest = x!.shape.slice(ids.shape.length);
  const R = tf.util.sizeFromShape(rest);
  if (!tf.util.arraysEqual(x!.shape.slice(0, ids.shape.length), ids.shape))
    throw new Error(`UnsortedSegmentSum: segmentIds of shape [${ids.shape}] must match the leading axes of x of shape [${x!.shape}]`);
  const values = c.backend.readSync(ids.dataId) as tf.TypedArray;
  const valid = (v: number) => Number.isInteger(v) && v >= 0 && v < numSegments;
  const dropsSome = !values.every(valid);
  const indices = dropsSome || ids.dtype !== 'int32'
    ? c.constant(Int32Array.from(values, (v) => (valid(v) ? v : numSegments)), [K, 1], 'int32')
    : c.reshape(ids, [K, 1]);
  const rows = numSegments + (dropsSome ? 1 : 0);
  const summed = c.run('ScatterNd', { indices, updates: c.reshape(x!, [K, R]) }, { shape: [rows, R] });
  return c.reshape(c.slice(summed, [0, 0], [numSegments, R]), [numSegments, ...rest]);
});

/**
 * OneHot, replacing tfjs-backend-wasm 4.22's: for any dtype but int32 that kernel writes the int32
 * bit patterns of onValue/offValue into the output (`tf.oneHot(i, 3, 1, 0, 'float32')` gives 1.4e-45
 * for 1, an on-value of 5 gives 7e-45 and an off-value of -1 gives NaN), silently. The indices are
 * small and live in wasm memory, so this writes the output on the host, as tfjs-backend-cpu does:
 * offValue everywhere, onValue at each in-range index (an index outside [0, depth) gives a row of
 * offValue), shape [...indices.shape, depth], in the requested dtype.
 */
import * as tf from '@tensorflow/tfjs';
import { composite } from './compose.js';

export const oneHotConfig = composite(tf.OneHot, (c, { indices }, attrs) => {
  const { depth, onValue, offValue, dtype } = attrs as unknown as tf.OneHotAttrs;
  const ids = c.backend.readSync(indices!.dataId) as tf.TypedArray;
  const out = tf.util.getTypedArrayFromDType(dtype as 'float32', ids.length * depth);
  out.fill(offValue);
  ids.forEach((v, i) => {
    if (v >= 0 && v < depth) out[i * depth + v] = onValue;
  });
  return c.constant(out, [...indices!.shape, depth], dtype);
});

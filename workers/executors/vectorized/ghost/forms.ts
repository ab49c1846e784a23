/**
 * A parameter's chunk gradient as ghost clipping gets it out of the batched pass: a Gram form (a dense
 * layer over T positions: A [n, T, M], B [n, T, P]), a scatter form (an embedding: ids [n, T], rows
 * [n, T, D]), or the per-sample values [n, ...shape] (biases, conv filters, anything else). Traced
 * runs hand back inner data only, so a form is also a fixed list of exported infos.
 */
import type * as tf from '@tensorflow/tfjs';
import type { GhostForm } from '../../../../src/shared/ghost-coverage.js';
import { lazyOperands, type LazyGhost } from '../../../../src/shared/batching/values.js';

export type GhostGrad =
  | { form: 'gram'; a: tf.TensorInfo; b: tf.TensorInfo; T: number; M: number; P: number }
  | { form: 'scatter'; ids: tf.TensorInfo; values: tf.TensorInfo; T: number; D: number }
  | { form: 'per-sample'; values: tf.TensorInfo };

/** The form and exported inner data of a lazy ghost value (null: a per-sample gradient). */
export const exportedForm = (l: LazyGhost | null): GhostForm => (l ? l.kind : 'per-sample');
export const exportedInfos = (l: LazyGhost): tf.TensorInfo[] => lazyOperands(l);

/** Rebuilds the gradients from exported inner data (in export order) and each parameter's form. */
export function fromInfos(infos: readonly tf.TensorInfo[], forms: readonly GhostForm[]): GhostGrad[] {
  let at = 0;
  return forms.map((form): GhostGrad => {
    if (form === 'per-sample') return { form, values: infos[at++]! };
    const [first, second] = [infos[at++]!, infos[at++]!];
    if (form === 'gram') return { form, a: first, b: second, T: first.shape[1]!, M: first.shape[2]!, P: second.shape[2]! };
    return { form, ids: first, values: second, T: first.shape[1]!, D: second.shape[2]! };
  });
}

/**
 * A tfjs-layers model as a gradpool single-sample model. `forward(params, x)` applies the model to
 * `x.expandDims(0)` and squeezes the batch axis again, so the model sees one sample as a batch of one
 * (the vectorized executor runs this same single-sample forward over a whole chunk). The output is a
 * differentiable function of the param tensors because, during the call, each trainable
 * LayerVariable's value is the given tensor: in tfjs-layers 4.22 `LayerVariable.read()` returns its
 * private `val`, which is swapped in and restored in `finally`. Non-trainable weights (BatchNorm's
 * moving statistics) stay the model's own, fixed.
 */
import * as tf from '@tensorflow/tfjs';
import { errors, fmtShape, raw } from '../../errors.js';
import { defineModel, joinFlat, type ModelDef, type ParamSpec } from '../define.js';
import { isTraining } from '../mode.js';
import { inLayer } from './current.js';
import { sampleLoss, targetShapeFor, type LossSpec } from './losses.js';

/** A LayerVariable's private value slot (see the header). */
type Slot = { val: tf.Tensor };
/** A layer's `call`, wrapped for the duration of a forward pass. */
type Call = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
type CallableLayer = tf.layers.Layer & { call: Call };

/** Layers that run in inference mode even when training: per-sample gradients and batch statistics don't mix. */
const INFERENCE_ONLY = new Set(['BatchNormalization']);

/** Every leaf layer, looking inside nested models (a Sequential used as a layer). */
export function leafLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.flatMap((l) => ('layers' in l && Array.isArray((l as tf.LayersModel).layers) ? leafLayers(l as tf.LayersModel) : [l]));
}

/** True if any layer of `model` is one {@link INFERENCE_ONLY} keeps in inference mode. */
export function hasInferenceOnlyLayers(model: tf.LayersModel): boolean {
  return leafLayers(model).some((l) => INFERENCE_ONLY.has(l.getClassName()));
}

const annotated = new WeakSet<object>();

/**
 * Prefixes an error thrown inside a layer's call with the layer (`layer SimpleRNN (simple_rnn_SimpleRNN1): …`),
 * keeping its class (the vectorized executor tells batching-rule errors by class). The innermost layer wins.
 */
function annotate(e: unknown, label: string): unknown {
  const err = e instanceof Error ? e : new Error(String(e));
  if (!annotated.has(err)) {
    err.message = `${label}: ${err.message}`;
    annotated.add(err);
  }
  return err;
}

/** Fully defined per-sample dims of a symbolic shape `[null, ...]`, or an error naming `field`. */
function sampleShape(field: string, shape: readonly (number | null)[]): number[] {
  const dims = shape.slice(1);
  if (!dims.every((d) => Number.isInteger(d) && (d as number) > 0))
    throw errors.modelInvalid(field, 'a fully defined shape after the batch dimension (give the input layer a complete inputShape)', raw(fmtShape(shape.map((d) => (d === null ? 'null' : d)))));
  return dims as number[];
}

/** The model's single input or output shape; several are refused (gradpool runs one input, one output). */
function single(field: 'inputs' | 'outputs', list: readonly tf.SymbolicTensor[]): readonly (number | null)[] {
  if (list.length !== 1) throw errors.modelInvalid(field, `a model with one ${field.slice(0, -1)} (multi-input and multi-output Layers models are not supported)`, raw(`${list.length} ${field}`));
  return list[0]!.shape;
}

/**
 * Builds the ModelDef of `model`, which must be gradpool's own copy (its layers and variables are
 * swapped during forward). Parameters are its trainable weights, named by `originalName` — the name
 * `model.save` writes into weight manifests and `tf.loadLayersModel` matches on load
 * (`dense_Dense1/kernel`), unlike `name`, which tfjs suffixes (`_1`) when a name repeats in a thread.
 */
export function layersModelDef(model: tf.LayersModel, loss: LossSpec): { def: ModelDef; initial: Float32Array; outputShape: number[] } {
  const inputShape = sampleShape('inputShape', single('inputs', model.inputs));
  const outputShape = sampleShape('outputShape', single('outputs', model.outputs));
  const weights = model.trainableWeights;
  const names = weights.map((w) => w.originalName);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw errors.modelInvalid('trainableWeights', 'unique weight names', dup);
  const slots = weights as unknown as Slot[];
  const layers = leafLayers(model) as CallableLayer[];
  const perSample = sampleLoss(model, loss);

  const forward = (params: Record<string, tf.Tensor>, x: tf.Tensor): tf.Tensor => {
    const saved = slots.map((s) => s.val);
    const calls = layers.map((l) => l.call);
    try {
      slots.forEach((s, i) => (s.val = params[names[i]!]!));
      layers.forEach((l, i) => {
        const call = calls[i]!;
        const inference = INFERENCE_ONLY.has(l.getClassName());
        const label = `layer ${l.getClassName()} (${l.name})`;
        l.call = (inputs, kwargs) => {
          try {
            return inLayer(label, () => call.call(l, inputs, inference ? { ...kwargs, training: false } : kwargs));
          } catch (e) {
            throw annotate(e, label);
          }
        };
      });
      const out = model.apply(x.expandDims(0), { training: isTraining() }) as tf.Tensor;
      return out.squeeze([0]);
    } finally {
      slots.forEach((s, i) => (s.val = saved[i]!));
      layers.forEach((l, i) => (l.call = calls[i]!));
    }
  };

  const params = Object.fromEntries(weights.map((w, i) => [names[i]!, { shape: w.shape as number[] } satisfies ParamSpec]));
  const def = defineModel({ params, inputShape, targetShape: targetShapeFor(loss, outputShape), forward, loss: perSample });
  const initial = joinFlat(def.layout, Object.fromEntries(weights.map((w, i) => [names[i]!, w.read().dataSync() as Float32Array])));
  return { def, initial, outputShape };
}

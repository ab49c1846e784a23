/**
 * Where a pool's tfjs-layers model comes from, on both sides. The coordinator ({@link openLayersModel})
 * takes the user's `tf.LayersModel` (serialised with `model.save` into one SharedArrayBuffer) or a
 * model.json location (which each worker loads itself), builds its own copy to learn the shapes,
 * names and initial weights, and checks the loss. A worker ({@link loadLayersModelDef}) rebuilds the
 * model from that buffer once and caches it by key. The user's model object is only read, never changed.
 */
import * as tf from '@tensorflow/tfjs';
import { errors, GradPoolError } from '../../errors.js';
import type { ModelDef } from '../define.js';
import { hasInferenceOnlyLayers, layersModelDef } from './adapter.js';
import { artifactKey, packArtifact, saveToMemory, unpackArtifact, weightBytes, type LayersHeader } from './artifact.js';
import { isModelJsonRef, loadHandlerFor, modelJsonLocation } from './io-handler.js';
import { resolveLoss } from './losses.js';

/** A tfjs-layers model (from any copy of tfjs: recognised by shape, not by class). */
export function isLayersModel(v: unknown): v is tf.LayersModel {
  if (v instanceof tf.LayersModel) return true;
  const m = v as Partial<tf.LayersModel> | null;
  return !!m && typeof m === 'object' && typeof m.save === 'function' && typeof m.toJSON === 'function' && Array.isArray(m.trainableWeights) && Array.isArray(m.layers);
}

/** True for a `model` option that is a tfjs-layers model or a model.json location (not a defineModel module). */
export function isLayersRef(ref: unknown): boolean {
  return isLayersModel(ref) || isModelJsonRef(ref);
}

/** What the coordinator keeps of a tfjs-layers model. */
export interface LayersSource {
  def: ModelDef;
  initial: Float32Array;
  /** The workers' model cache key and the buffer they rebuild the model from. */
  key: string;
  artifact: SharedArrayBuffer;
  /** Gradpool's own copy on this thread (the template of `pool.toLayersModel()`). */
  model: tf.LayersModel;
}

/** Builds gradpool's own copy of the model the header describes. */
async function rebuild(header: Omit<LayersHeader, 'loss'>, weights: ArrayBuffer): Promise<tf.LayersModel> {
  const { location, modelTopology, weightSpecs } = header;
  const handler = location !== undefined ? loadHandlerFor(location) : tf.io.fromMemory({ modelTopology: modelTopology!, weightSpecs: weightSpecs!, weightData: weights });
  try {
    return await tf.loadLayersModel(handler);
  } catch (e) {
    if (e instanceof GradPoolError) throw e;
    throw errors.modelLoad(location ?? 'the tfjs-layers model', e);
  }
}

const BATCHNORM_WARNING =
  'model: BatchNormalization layers run in inference mode (their moving statistics, fixed) for gradients and training too: ' +
  "per-sample gradients and batch statistics don't mix (Opacus makes the same choice); their gamma and beta still train";

/** Coordinator side: the user's model object or model.json location, and the `loss` option. */
export async function openLayersModel(ref: tf.LayersModel | string | URL, lossOption: unknown): Promise<LayersSource> {
  let header: Omit<LayersHeader, 'loss'>;
  let weights: ArrayBuffer | undefined;
  let compiledLoss: unknown;
  if (isLayersModel(ref)) {
    const a = await saveToMemory(ref);
    header = { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs ?? [] };
    weights = weightBytes(a);
    compiledLoss = ref.loss;
  } else header = { location: modelJsonLocation(ref) };
  const model = await rebuild(header, weights ?? new ArrayBuffer(0));
  if (compiledLoss === undefined) compiledLoss = model.loss; // a saved training config's loss
  try {
    const loss = resolveLoss(lossOption, compiledLoss);
    const artifact = packArtifact({ ...header, loss }, weights);
    const { def, initial, outputShape } = layersModelDef(model, loss);
    checkLoss(def, outputShape);
    if (hasInferenceOnlyLayers(model)) process.emitWarning(BATCHNORM_WARNING, 'GradPoolWarning');
    return { def, initial, key: artifactKey(artifact), artifact, model };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Runs the loss once on zeros, so a loss function that cannot work in the workers (it used a closure) fails here, by name. */
function checkLoss(def: ModelDef, outputShape: number[]): void {
  try {
    tf.tidy(() => def.loss(tf.zeros(outputShape), tf.zeros(def.targetShape as number[])));
  } catch (e) {
    throw new GradPoolError('ERR_INVALID_OPTION', `loss: failed on zeros as the workers would run it (a loss function is rebuilt there from its source text, with only its arguments and tf in scope): ${(e as Error).message}`);
  }
}

const cache = new Map<string, Promise<ModelDef>>();

/** Worker side: the model a coordinator packed, built once per key and kept for the worker's life. */
export function loadLayersModelDef(key: string, artifact: SharedArrayBuffer): Promise<ModelDef> {
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const { header, weights } = unpackArtifact(artifact);
      return layersModelDef(await rebuild(header, weights), header.loss).def;
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/**
 * A fresh tfjs-layers model built like `template` (gradpool's copy), with trainable weights from
 * `params` by name; non-trainable ones keep the template's values.
 */
export async function withWeights(template: tf.LayersModel, params: Record<string, { data: Float32Array }>): Promise<tf.LayersModel> {
  const a = await saveToMemory(template);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: a.modelTopology!, weightSpecs: a.weightSpecs!, weightData: weightBytes(a) }));
  tf.tidy(() => model.trainableWeights.forEach((w) => w.write(tf.tensor(params[w.originalName]!.data, w.shape as number[]))));
  return model;
}

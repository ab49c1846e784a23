/**
 * Writing a tfjs Layers model to disk as tfjs-node's `model.save('file://dir')` does — `model.json`
 * (modelTopology + weightsManifest) and one `weights.bin` — from plain @tensorflow/tfjs, which has no
 * file:// handler in Node. `tf.loadLayersModel` reads the result back (in gradpool:
 * `GradPool.create({ model: 'dir/model.json' })`). Reading is src/model/layers/io-handler.ts.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from './atomic.js';
import { MANIFEST_FILE, WEIGHTS_FILE } from './tfjs-weights.js';

/**
 * An IOHandler that saves into `dir` (each file atomically, weights first, so a model.json never
 * points at a missing or older weights file).
 *
 * @example
 * await (await pool.toLayersModel()).save(layersSaveHandler('out/final'));
 * const again = await tf.loadLayersModel(fileLoadHandler('out/final/model.json'));
 */
export function layersSaveHandler(dir: string): tf.io.IOHandler {
  return {
    async save(a: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const weights = a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData);
      const json: tf.io.ModelJSON = {
        modelTopology: a.modelTopology!,
        format: a.format ?? 'layers-model',
        generatedBy: a.generatedBy ?? 'gradpool',
        convertedBy: a.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: a.weightSpecs ?? [] }],
        ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
        ...(a.userDefinedMetadata ? { userDefinedMetadata: a.userDefinedMetadata } : {}),
      };
      await writeFileAtomic(join(dir, WEIGHTS_FILE), [new Uint8Array(weights)]);
      await writeFileAtomic(join(dir, MANIFEST_FILE), [Buffer.from(JSON.stringify(json))]);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    },
  };
}

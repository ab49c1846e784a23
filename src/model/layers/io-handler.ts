/**
 * Loading a saved tfjs Layers model (`model.json` plus its weight files, as `model.save('file://…')` in
 * tfjs-node writes them) in plain Node: @tensorflow/tfjs has no `file://` handler outside tfjs-node, so
 * this IOHandler reads the files with node:fs. http(s) URLs go through tfjs's own `tf.io.http`.
 * Errors name the file that is missing or wrong, and say what a Layers model.json must hold.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { errors, fmtValue } from '../../errors.js';

/** True for a `model` option naming a model.json (path, file URL or http(s) URL) rather than a module. */
export function isModelJsonRef(ref: unknown): ref is string | URL {
  const path = ref instanceof URL ? ref.pathname : typeof ref === 'string' ? ref.replace(/[?#].*$/, '') : '';
  return /\.json$/i.test(path);
}

/** The canonical form of a model.json reference: an absolute path, or an http(s) URL as given. */
export function modelJsonLocation(ref: string | URL): string {
  const s = ref instanceof URL ? ref.href : ref;
  if (/^https?:\/\//i.test(s)) return s;
  if (/^file:/i.test(s)) return fileURLToPath(s);
  return isAbsolute(s) ? s : resolve(s);
}

async function readOrFail(file: string, what: string, json: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw errors.modelLoad(json, `${what} ${file} ${code === 'ENOENT' ? 'not found' : `cannot be read (${(e as Error).message})`}`);
  }
}

/** Checks that parsed model.json text is a Layers model (not a graph model, not gradpool's weights-only manifest). */
function checkLayersJson(file: string, j: unknown): tf.io.ModelJSON {
  const o = j as Partial<tf.io.ModelJSON> | null;
  const topology = o?.modelTopology as { class_name?: unknown; model_config?: { class_name?: unknown } } | undefined;
  const layers = o && (o.format === undefined || o.format === 'layers-model') && topology && typeof topology === 'object' && (topology.class_name ?? topology.model_config?.class_name) !== undefined;
  if (!layers) {
    const got = o === null || typeof o !== 'object' ? fmtValue(o) : `format ${fmtValue(o.format)}${topology ? '' : ' without "modelTopology"'}`;
    throw errors.modelLoad(file, `not a tfjs Layers model: expected a model.json with "modelTopology" of a Layers model (format "layers-model"), got ${got}`);
  }
  if (!Array.isArray(o.weightsManifest)) throw errors.modelLoad(file, 'not a tfjs Layers model: expected "weightsManifest" (an array of weight groups), got none');
  return o as tf.io.ModelJSON;
}

/**
 * An IOHandler that loads `<file>` (a Layers model.json) and the weight files its manifest lists,
 * relative to its directory, for `tf.loadLayersModel(fileLoadHandler('out/model.json'))`.
 */
export function fileLoadHandler(file: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: unknown;
      const text = await readOrFail(file, 'model file', file);
      try {
        json = JSON.parse(text.toString('utf8'));
      } catch (e) {
        throw errors.modelLoad(file, `not valid JSON: ${(e as Error).message}`);
      }
      const mj = checkLayersJson(file, json);
      const dir = dirname(file);
      const paths = mj.weightsManifest.flatMap((g) => g.paths);
      const bins = await Promise.all(paths.map((p) => readOrFail(resolve(dir, p), 'weights file', file)));
      const weightData = tf.io.concatenateArrayBuffers(bins.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer));
      return tf.io.getModelArtifactsForJSON(mj, async () => [mj.weightsManifest.flatMap((g) => g.weights), weightData]);
    },
  };
}

/** The IOHandler for a model.json location: node:fs for paths, tfjs's own http handler for http(s) URLs. */
export function loadHandlerFor(location: string): tf.io.IOHandler {
  return /^https?:\/\//i.test(location) ? tf.io.http(location) : fileLoadHandler(location);
}

/**
 * Final weights in TensorFlow.js's weights-manifest format: a `model.json` holding
 * `weightsManifest` and one `weights.bin` with every tensor's float32 bytes back to back, in
 * manifest order. That is exactly what `tf.io.decodeWeights(buffer, manifest.weightsManifest[0].weights)`
 * reads, so trained parameters can be used from tfjs without gradpool. There is no `modelTopology`:
 * a gradpool model is code, not a Layers graph.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors, fmtShape } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { sizeOf } from './dataset.js';

/** The manifest file name and the single weights file name. */
export const MANIFEST_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';
/** The `format` field written into the manifest. */
export const WEIGHTS_FORMAT = 'gradpool-weights';

/** One named parameter tensor. */
export interface NamedWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** The manifest as written (a subset of tfjs's `ModelJSON`). */
export interface WeightsManifestFile {
  format: string;
  generatedBy: string;
  weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: 'float32' }[] }[];
}

function generatedBy(): string {
  try {
    // The package resolves itself by name through its "exports" map, from src/ or dist/ alike.
    const pkg = createRequire(import.meta.url)('gradpool/package.json') as { version: string };
    return `gradpool ${pkg.version}`;
  } catch {
    return 'gradpool';
  }
}

function checkWeights(weights: readonly NamedWeight[]): void {
  if (!Array.isArray(weights)) throw errors.type('weights', 'an array of { name, shape, data }', weights);
  const seen = new Set<string>();
  weights.forEach((w, i) => {
    if (typeof w?.name !== 'string' || w.name.length === 0) throw errors.invalidOption(`weights[${i}].name`, 'a non-empty string', w?.name);
    if (seen.has(w.name)) throw errors.invalidOption(`weights[${i}].name`, 'a unique name', w.name);
    seen.add(w.name);
    if (!(w.data instanceof Float32Array)) throw errors.type(`weights.${w.name}.data`, 'a Float32Array', w.data);
    const okShape = Array.isArray(w.shape) && (w.shape as readonly unknown[]).every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
    if (!okShape || sizeOf(w.shape) !== w.data.length) {
      throw errors.invalidOption(`weights.${w.name}.shape`, `a shape with ${w.data.length} elements (data.length)`, w.shape);
    }
  });
}

/**
 * Writes `<dir>/model.json` and `<dir>/weights.bin` (each atomically; weights first, so a manifest
 * never points at a missing or older weights file). Returns both paths.
 *
 * @example
 * await writeTfjsWeights('out/final', [{ name: 'W', shape: [784, 10], data: W }, { name: 'b', shape: [10], data: b }]);
 * // in tfjs: tf.io.decodeWeights(bin, JSON.parse(json).weightsManifest[0].weights)
 */
export async function writeTfjsWeights(dir: string, weights: readonly NamedWeight[]): Promise<{ manifest: string; weights: string }> {
  checkWeights(weights);
  const manifest: WeightsManifestFile = {
    format: WEIGHTS_FORMAT,
    generatedBy: generatedBy(),
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weights.map((w) => ({ name: w.name, shape: [...w.shape], dtype: 'float32' })) }],
  };
  const bin = join(dir, WEIGHTS_FILE);
  const json = join(dir, MANIFEST_FILE);
  await writeFileAtomic(bin, weights.map((w) => new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
  await writeFileAtomic(json, [Buffer.from(JSON.stringify(manifest, null, 2) + '\n')]);
  return { manifest: json, weights: bin };
}

/**
 * Reads back what {@link writeTfjsWeights} wrote (or any float32-only tfjs manifest), without tfjs.
 * Errors name the file and the entry (`out/model.json: weight "W" [4,3] needs 48 bytes at offset 0, weights.bin has 40`).
 */
export async function readTfjsWeights(dir: string): Promise<NamedWeight[]> {
  const jsonFile = join(dir, MANIFEST_FILE);
  let manifest: WeightsManifestFile;
  try {
    manifest = JSON.parse(await readFile(jsonFile, 'utf8')) as WeightsManifestFile;
  } catch (e) {
    throw errors.dataInvalid(jsonFile, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'not valid JSON');
  }
  const groups = manifest?.weightsManifest;
  if (!Array.isArray(groups)) throw errors.dataInvalid(jsonFile, 'missing "weightsManifest"');
  const out: NamedWeight[] = [];
  for (const group of groups) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights)) throw errors.dataInvalid(jsonFile, 'malformed "weightsManifest" group');
    const parts = await Promise.all(group.paths.map((p) => readFile(join(dir, p))));
    const bin = Buffer.concat(parts);
    let offset = 0;
    for (const w of group.weights) {
      const what = `weight ${JSON.stringify(w.name)}`;
      if (w.dtype !== 'float32') throw errors.dataInvalid(jsonFile, `${what}: unsupported dtype ${JSON.stringify(w.dtype)} (expected "float32")`);
      const data = new Float32Array(sizeOf(w.shape));
      if (offset + data.byteLength > bin.length) {
        const files = group.paths.join('+');
        throw errors.dataInvalid(jsonFile, `${what} ${fmtShape(w.shape)} needs ${data.byteLength} bytes at offset ${offset}, ${files} has ${bin.length}`);
      }
      new Uint8Array(data.buffer).set(bin.subarray(offset, offset + data.byteLength));
      offset += data.byteLength;
      out.push({ name: w.name, shape: w.shape, data });
    }
  }
  return out;
}

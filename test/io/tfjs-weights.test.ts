/**
 * Weight export: tfjs itself is the oracle. `tf.io.decodeWeights` must read weights.bin against the
 * manifest's entries back to exactly the written values and shapes.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readTfjsWeights, writeTfjsWeights, type NamedWeight } from '../../src/io/tfjs-weights.js';
import { scratchDir } from './helpers.js';
import { rejectsExactly, sameBytes } from '../helpers/assert.js';
import { useBackend } from '../helpers/env.js';

const weights = (): NamedWeight[] => {
  const odd = new Float32Array(Uint32Array.from([0x7fc00123, 0x80000000, 0x00000001]).buffer); // NaN payload, -0, denormal
  return [
    { name: 'dense/kernel', shape: [3, 2], data: Float32Array.from([1, -2, 3.5, 1e-30, -0.25, 7]) },
    { name: 'dense/bias', shape: [3], data: odd },
    { name: 'scale', shape: [], data: Float32Array.from([0.5]) },
    { name: 'unused', shape: [0, 4], data: new Float32Array(0) },
    // A view at an odd offset into a larger buffer: only its own bytes may be written.
    { name: 'view', shape: [2], data: new Float32Array(Float32Array.from([9, 8, 7, 6]).buffer, 4, 2) },
  ];
};

describe('io: tfjs weights', () => {
  let dir: string;
  let cleanup: () => void;
  before(async () => {
    await useBackend('cpu');
  });
  beforeEach(() => ({ dir, cleanup } = scratchDir()));
  afterEach(() => cleanup());

  it('writes a manifest and weights.bin that tf.io.decodeWeights reads back exactly', async () => {
    const ws = weights();
    const paths = await writeTfjsWeights(dir, ws);
    assert.deepEqual(paths, { manifest: join(dir, 'model.json'), weights: join(dir, 'weights.bin') });
    assert.deepEqual(readdirSync(dir).sort(), ['model.json', 'weights.bin']);
    const manifest = JSON.parse(readFileSync(paths.manifest, 'utf8'));
    assert.equal(manifest.format, 'gradpool-weights');
    assert.match(manifest.generatedBy, /^gradpool \d+\.\d+\.\d+/);
    assert.deepEqual(manifest.weightsManifest[0].paths, ['weights.bin']);
    assert.deepEqual(manifest.weightsManifest[0].weights[0], { name: 'dense/kernel', shape: [3, 2], dtype: 'float32' });

    const bin = readFileSync(paths.weights);
    assert.equal(bin.length, 4 * (6 + 3 + 1 + 0 + 2));
    const ab = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
    const decoded = tf.io.decodeWeights(ab, manifest.weightsManifest[0].weights);
    assert.deepEqual(Object.keys(decoded), ws.map((w) => w.name));
    for (const w of ws) {
      const t = decoded[w.name];
      assert.deepEqual(t.shape, w.shape, w.name);
      assert.equal(t.dtype, 'float32');
      assert.ok(sameBytes(t.dataSync() as Float32Array, w.data), w.name);
    }
    tf.dispose(Object.values(decoded));
  });

  it('readTfjsWeights reads them back bit-exactly without tfjs', async () => {
    const ws = weights();
    await writeTfjsWeights(dir, ws);
    const back = await readTfjsWeights(dir);
    assert.deepEqual(back.map((w) => [w.name, w.shape]), ws.map((w) => [w.name, w.shape]));
    back.forEach((w, i) => assert.ok(sameBytes(w.data, ws[i].data), w.name));
  });

  it('readTfjsWeights names the file and the weight when something is wrong', async () => {
    const json = join(dir, 'model.json');
    await rejectsExactly(readTfjsWeights(dir), `${json}: file not found`, 'ERR_DATA_INVALID');
    writeFileSync(json, '{ nope');
    await rejectsExactly(readTfjsWeights(dir), `${json}: not valid JSON`);
    writeFileSync(json, '{}');
    await rejectsExactly(readTfjsWeights(dir), `${json}: missing "weightsManifest"`);
    writeFileSync(json, '{"weightsManifest": [{"paths": "weights.bin"}]}');
    await rejectsExactly(readTfjsWeights(dir), `${json}: malformed "weightsManifest" group`);
    await writeTfjsWeights(dir, [{ name: 'W', shape: [4, 3], data: new Float32Array(12) }]);
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(40));
    await rejectsExactly(readTfjsWeights(dir), `${json}: weight "W" [4,3] needs 48 bytes at offset 0, weights.bin has 40`);
    const m = JSON.parse(readFileSync(json, 'utf8'));
    m.weightsManifest[0].weights[0].dtype = 'int32';
    writeFileSync(json, JSON.stringify(m));
    await rejectsExactly(readTfjsWeights(dir), `${json}: weight "W": unsupported dtype "int32" (expected "float32")`);
  });

  it('rejects bad weights before writing anything', async () => {
    const w = (name: string, shape: number[], data: unknown) => ({ name, shape, data }) as NamedWeight;
    const cases: [NamedWeight[], string][] = [
      [[w('a', [2, 2], new Float32Array(3))], 'weights.a.shape: expected a shape with 3 elements (data.length), got [2,2]'],
      [[w('a', [-1], new Float32Array(0))], 'weights.a.shape: expected a shape with 0 elements (data.length), got [-1]'],
      [[w('a', [2], Float64Array.from([1, 2]))], 'weights.a.data: expected a Float32Array, got a Float64Array'],
      [[w('a', [1], new Float32Array(1)), w('a', [1], new Float32Array(1))], 'weights[1].name: expected a unique name, got "a"'],
      [[w('', [1], new Float32Array(1))], 'weights[0].name: expected a non-empty string, got ""'],
    ];
    for (const [ws, message] of cases) await rejectsExactly(writeTfjsWeights(dir, ws), message);
    await rejectsExactly(writeTfjsWeights(dir, {} as never), 'weights: expected an array of { name, shape, data }, got {}', 'ERR_INVALID_ARG_TYPE');
    assert.deepEqual(readdirSync(dir), []);
  });
});

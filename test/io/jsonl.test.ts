/**
 * JSONL loader: nested arrays, scalar and one-hot labels, blank lines and CRLF, and line-numbered
 * errors for every kind of bad line.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadJsonl } from '../../src/io/jsonl.js';
import { dataFixture, scratchDir } from './helpers.js';
import { rejectsExactly } from '../helpers/assert.js';

describe('io: jsonl', () => {
  it('loads nested x sample-major, ignoring blank lines, CRLF and extra keys', async () => {
    const ds = await loadJsonl({ format: 'jsonl', path: dataFixture('grid.jsonl') });
    assert.equal(ds.count, 3);
    assert.deepEqual(ds.inputShape, [2, 2]);
    assert.deepEqual(ds.targetShape, [1]);
    assert.deepEqual(ds.x, Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7.5, -1, -2, -3, -4]));
    assert.deepEqual(ds.y, Float32Array.from([1, 0, 1]));
  });

  it('one-hot encodes labels written as n or [n]', async () => {
    const ds = await loadJsonl({ format: 'jsonl', path: dataFixture('labels.jsonl'), oneHot: 3 });
    assert.deepEqual(ds.targetShape, [3]);
    assert.deepEqual(ds.y, Float32Array.from([0, 0, 1, 1, 0, 0]));
  });

  it('accepts scalar x and y', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, 's.jsonl');
      writeFileSync(file, '{"x": 1.5, "y": 3}\n{"x": -2, "y": 4}\n');
      const ds = await loadJsonl({ format: 'jsonl', path: file });
      assert.deepEqual([ds.inputShape, ds.targetShape, ds.count], [[], [], 2]);
      assert.deepEqual(ds.x, Float32Array.from([1.5, -2]));
    } finally {
      cleanup();
    }
  });

  it('blames a short line on itself, even when it is the first: the shapes are the ones most lines have', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, 'short-first.jsonl');
      writeFileSync(file, '{"x": [1], "y": [0]}\n\n{"x": [1, 2], "y": [0]}\n{"x": [3, 4], "y": [1]}\n');
      await rejectsExactly(loadJsonl({ format: 'jsonl', path: file }), 'data.path: line 1: x: expected an array of length 2, got [1]', 'ERR_DATA_INVALID');
      writeFileSync(file, '{"x": [1, 2], "y": [0]}\n{"x": [1, 2], "y": [0, 1]}\n{"x": [3, 4], "y": [1, 0]}\n');
      await rejectsExactly(loadJsonl({ format: 'jsonl', path: file }), 'data.path: line 1: y: expected an array of length 2, got [0]', 'ERR_DATA_INVALID');
    } finally {
      cleanup();
    }
  });

  it('names the line and element of every bad value', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, 'bad.jsonl');
      const good = '{"x": [[1, 2], [3, 4]], "y": [0, 1]}\n';
      const cases: [string, string, number?][] = [
        [good + '{"x": [[1, 2], [3, 4]], "y": [0, 1]\n', 'data.path: line 2: not valid JSON'],
        [good + '\n[1, 2]\n', 'data.path: line 3: expected an object {"x": ..., "y": ...}, got [1,2]'],
        [good + '{"y": [0, 1]}\n', 'data.path: line 2: missing "x"'],
        [good + '{"x": [[1, 2], [3, 4]]}\n', 'data.path: line 2: missing "y"'],
        [good + '{"x": [[1, 2], [3, "a"]], "y": [0, 1]}\n', 'data.path: line 2: x[1][1]: expected a finite number, got "a"'],
        [good + '{"x": [[1, 2], [3, null]], "y": [0, 1]}\n', 'data.path: line 2: x[1][1]: expected a finite number, got null'],
        [good + '{"x": [[1, 2, 3], [3, 4]], "y": [0, 1]}\n', 'data.path: line 2: x[0]: expected an array of length 2, got [1,2,3]'],
        [good + '{"x": [1, 2], "y": [0, 1]}\n', 'data.path: line 2: x[0]: expected an array of length 2, got 1'],
        [good + '{"x": [[1, 2], [3, 4]], "y": 7}\n', 'data.path: line 2: y: expected an array of length 2, got 7'],
        ['{"x": [1], "y": 5}\n', 'data.path: line 1: y: not a class index in [0, 3): 5', 3],
        ['{"x": [1], "y": [0, 1]}\n', 'data.path: line 1: y: expected a finite number, got [0,1]', 3],
        ['{"x": [1], "y": 1.5}\n', 'data.path: line 1: y: not a class index in [0, 3): 1.5', 3],
        ['\n\n', `data.path: no samples in ${file}`],
      ];
      for (const [text, message, oneHot] of cases) {
        writeFileSync(file, text);
        await rejectsExactly(loadJsonl({ format: 'jsonl', path: file, ...(oneHot ? { oneHot } : {}) }), message, 'ERR_DATA_INVALID');
      }
      const missing = join(dir, 'nope.jsonl');
      await rejectsExactly(loadJsonl({ format: 'jsonl', path: missing }, 'validation'), `validation.path: file not found: ${missing}`);
    } finally {
      cleanup();
    }
  });
});

/**
 * CSV loader: column selection (lists, ranges), one-hot labels, quoting/BOM/CRLF/delimiters handled
 * by csv-parse, and every error message exactly.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCsv, selectColumns } from '../../src/io/csv.js';
import { loadData } from '../../src/io/load.js';
import { dataFixture, scratchDir } from './helpers.js';
import { rejectsExactly, throwsExactly } from '../helpers/assert.js';

const iris = dataFixture('iris.csv');
const HEADER = '(sepal_length, sepal_width, petal_length, petal_width, species)';
const f32 = (a: number[]) => Float32Array.from(a);

describe('io: csv', () => {
  it('loads selected columns sample-major, skipping blank lines', async () => {
    const ds = await loadCsv({ format: 'csv', path: iris, x: ['petal_width', 'sepal_length'], y: ['species'] });
    assert.equal(ds.count, 4);
    assert.deepEqual(ds.inputShape, [2]);
    assert.deepEqual(ds.targetShape, [1]);
    assert.deepEqual(ds.x, f32([0.2, 5.1, 1.4, 7.0, 2.5, 6.3, 0.2, 4.9]));
    assert.deepEqual(ds.y, f32([0, 1, 2, 0]));
  });

  it('selects an inclusive "first:last" range in header order and one-hot encodes labels', async () => {
    const ds = await loadData({ format: 'csv', path: iris, x: 'sepal_width:petal_width', y: 'species', oneHot: 3 });
    assert.deepEqual(ds.inputShape, [3]);
    assert.deepEqual(ds.targetShape, [3]);
    assert.deepEqual(ds.x.subarray(0, 3), f32([3.5, 1.4, 0.2]));
    assert.deepEqual(ds.y, f32([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0]));
  });

  it('handles a BOM, CRLF, quoted fields, padding spaces and another delimiter', async () => {
    const ds = await loadCsv({ format: 'csv', path: dataFixture('semicolon-bom.csv'), x: ['a;b', 'c'], y: ['id'], delimiter: ';' });
    assert.deepEqual(ds.x, f32([2.5, -300, 4, 5]));
    assert.deepEqual(ds.y, f32([1, 2]));
  });

  it('selectColumns: names, ranges, a header name containing a colon', () => {
    assert.deepEqual(selectColumns('data.x', ['a', 'b', 'c', 'd'], 'b:d'), [1, 2, 3]);
    assert.deepEqual(selectColumns('data.x', ['a', 'b', 'c'], 'b'), [1]);
    assert.deepEqual(selectColumns('data.x', ['t:0', 'b'], 't:0'), [0]);
    assert.deepEqual(selectColumns('data.x', ['a', 'b', 'c'], ['c', 'a']), [2, 0]);
    throwsExactly(() => selectColumns('data.x', ['a', 'b', 'c'], ['a', 'foo']), 'data.x: column "foo" not in header (a, b, c)', 'ERR_JOB_INVALID');
    throwsExactly(() => selectColumns('data.x', ['a', 'b', 'c'], 'a:zz'), 'data.x: column "zz" not in header (a, b, c)');
    throwsExactly(() => selectColumns('data.x', ['a', 'b', 'c'], 'c:a'), 'data.x: column range "c:a" runs backwards in header (a, b, c)');
    throwsExactly(() => selectColumns('data.x', ['a', 'b', 'c'], 'a:b:c'), 'data.x: expected a column range "first:last", got "a:b:c"');
    throwsExactly(() => selectColumns('data.x', ['a'], []), 'data.x: expected a non-empty array of column names or a "first:last" range, got []');
  });

  it('names the field, row and column of every bad value', async () => {
    const bad = dataFixture('bad-number.csv');
    await rejectsExactly(loadCsv({ format: 'csv', path: bad, x: ['a', 'b'], y: ['label'] }), 'data.path: row 4 column "b": not a number: "x"', 'ERR_DATA_INVALID');
    await rejectsExactly(
      loadCsv({ format: 'csv', path: iris, x: ['sepal_length', 'bogus'], y: ['species'] }, 'validation'),
      `validation.x: column "bogus" not in header ${HEADER}`,
    );
    await rejectsExactly(loadCsv({ format: 'csv', path: iris, x: 'sepal_length', y: ['nope'] }), `data.y: column "nope" not in header ${HEADER}`);
    await rejectsExactly(
      loadCsv({ format: 'csv', path: dataFixture('bad-label.csv'), x: ['a', 'b'], y: ['label'], oneHot: 3 }),
      'data.path: row 3 column "label": not a class index in [0, 3): 3',
    );
    await rejectsExactly(
      loadCsv({ format: 'csv', path: iris, x: ['sepal_length'], y: ['species', 'petal_width'], oneHot: 3 }),
      'data.y: expected a single column of class indices (oneHot is set), got ["species","petal_width"]',
    );
    await rejectsExactly(loadCsv({ format: 'csv', path: iris, x: ['sepal_length'], y: ['species'], oneHot: 1 }), 'data.oneHot: expected an integer >= 2 (the number of classes), got 1');
  });

  it('rejects ragged rows, empty and non-finite cells, missing files and empty files', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const ragged = dataFixture('ragged.csv');
      await rejectsExactly(
        loadCsv({ format: 'csv', path: ragged, x: ['a'], y: ['label'] }),
        `data.path: cannot parse CSV ${ragged}: Invalid Record Length: expect 3, got 2 on line 3`,
      );
      const file = join(dir, 't.csv');
      const load = () => loadCsv({ format: 'csv', path: file, x: ['a'], y: ['b'] });
      writeFileSync(file, 'a,b\n1,\n');
      await rejectsExactly(load(), 'data.path: row 2 column "b": not a number: ""');
      writeFileSync(file, 'a,b\n1,2\n\n3,x\n'); // row numbers are file lines, blank lines included
      await rejectsExactly(load(), 'data.path: row 4 column "b": not a number: "x"');
      writeFileSync(file, 'a,b\n1,2\nInfinity,2\n');
      await rejectsExactly(load(), 'data.path: row 3 column "a": not a finite number: "Infinity"');
      writeFileSync(file, 'a,b\n1,2\nNaN,2\n');
      await rejectsExactly(load(), 'data.path: row 3 column "a": not a number: "NaN"');
      writeFileSync(file, 'a,b\n');
      await rejectsExactly(load(), `data.path: no data rows in ${file}`);
      writeFileSync(file, '');
      await rejectsExactly(load(), `data.path: no header row in ${file}`);
      const missing = join(dir, 'train.csv');
      await rejectsExactly(loadCsv({ format: 'csv', path: missing, x: ['a'], y: ['b'] }), `data.path: file not found: ${missing}`, 'ERR_JOB_INVALID');
      await rejectsExactly(loadCsv({ format: 'csv', path: dir, x: ['a'], y: ['b'] }), `data.path: not a file: ${dir}`);
    } finally {
      cleanup();
    }
  });
});

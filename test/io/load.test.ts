/**
 * loadData dispatches on `format` to the matching loader and passes the field prefix through.
 */
import assert from 'node:assert/strict';
import { loadData } from '../../src/io/load.js';
import { dataFixture } from './helpers.js';
import { rejectsExactly } from '../helpers/assert.js';

describe('io: loadData', () => {
  it('dispatches every format', async () => {
    const shapes = async (s: Parameters<typeof loadData>[0]) => {
      const ds = await loadData(s);
      return [ds.count, ds.inputShape, ds.targetShape];
    };
    assert.deepEqual(await shapes({ format: 'csv', path: dataFixture('iris.csv'), x: ['sepal_length'], y: ['species'], oneHot: 3 }), [4, [1], [3]]);
    assert.deepEqual(await shapes({ format: 'jsonl', path: dataFixture('grid.jsonl') }), [3, [2, 2], [1]]);
    assert.deepEqual(await shapes({ format: 'npy', x: dataFixture('x-f32.npy'), y: dataFixture('y-i64.npy') }), [4, [3, 2], []]);
    assert.deepEqual(await shapes({ format: 'mnist', split: 'test', limit: 3 }), [3, [784], [10]]);
  });

  it('names the field in errors', async () => {
    await rejectsExactly(loadData({ format: 'parquet' } as never, 'validation'), 'validation.format: expected "csv", "jsonl", "npy" or "mnist", got "parquet"');
    await rejectsExactly(loadData(undefined as never), 'data.format: expected "csv", "jsonl", "npy" or "mnist", got undefined');
    await rejectsExactly(loadData({ format: 'mnist', split: 'dev' } as never, 'validation'), 'validation.split: expected "train" or "test", got "dev"');
  });
});

// The built-in MNIST read row by row (a node of a multi-node run reads only its rows): every row has
// the bits loadMnist gives it, in both splits and with a limit, and a read touches only the asked
// samples' bytes (one scan of each file aside).
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/io/mnist.js';
import { openMnistRows } from '../../src/io/mnist-rows.js';
import { sameBytes } from '../helpers/assert.js';

describe('io: mnist rows', () => {
  for (const options of [{ split: 'train' }, { split: 'test' }, { split: 'train', limit: 333 }] as const) {
    it(`${JSON.stringify(options)}: every row has loadMnist's bits`, () => {
      const whole = loadMnist(options);
      const rows = openMnistRows(options);
      try {
        assert.equal(rows.count, whole.count);
        // Every row, in a shuffled order with repeats: read in batches of 97, compared with the loader's.
        const order = Uint32Array.from({ length: whole.count + 50 }, (_, i) => (i * 7919) % whole.count);
        for (let lo = 0; lo < order.length; lo += 97) {
          const idx = order.subarray(lo, Math.min(order.length, lo + 97));
          const x = new Float32Array(idx.length * 784).fill(NaN);
          const y = new Float32Array(idx.length * 10).fill(NaN);
          rows.read(idx, x, y);
          idx.forEach((r, j) => {
            assert.ok(sameBytes(x.subarray(j * 784, (j + 1) * 784), whole.x.subarray(r * 784, (r + 1) * 784)), `x of row ${r}`);
            assert.ok(sameBytes(y.subarray(j * 10, (j + 1) * 10), whole.y.subarray(r * 10, (r + 1) * 10)), `y of row ${r}`);
          });
        }
      } finally {
        rows.close();
      }
    });
  }

  it('a read touches only the asked samples\' bytes; a bad option names its field', () => {
    const rows = openMnistRows({ split: 'train' });
    try {
      rows.read(Uint32Array.of(3, 4), new Float32Array(2 * 784), new Float32Array(20));
      assert.equal(rows.stats.rows, 2);
      // Two samples of 784 numbers of 1–5 characters and their commas: far less than a digit file (~2 MB).
      assert.ok(rows.stats.bytes > 2 * 784 * 2 && rows.stats.bytes < 2 * 784 * 7, `bytes read: ${rows.stats.bytes}`);
    } finally {
      rows.close();
    }
    assert.throws(() => openMnistRows({ split: 'validation' as never }), /data\.split: expected "train" or "test", got "validation"/);
    assert.throws(() => openMnistRows({ split: 'test', limit: 0 }), /data\.limit: expected a positive integer, got 0/);
  });
});

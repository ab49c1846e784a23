// JSON lines read row by row (a node of a multi-node run reads only its rows): the loader's bits and
// shapes for every row — a BOM, CRLF, blank lines, extra keys, one-hot labels, a file larger than
// the scan's 1 MB buffer (lines across its edges), and a short line outvoted by the common shape —
// with reads touching only the asked lines' bytes; a line that does not fit fails when read, named.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadJsonl } from '../../src/io/jsonl.js';
import { openJsonlRows } from '../../src/io/jsonl-rows.js';
import { Rng } from '../../src/rng.js';
import { sameBytes } from '../helpers/assert.js';
import { dataFixture, scratchDir } from './helpers.js';

async function sameAsLoader(source: Parameters<typeof loadJsonl>[0]): Promise<void> {
  const whole = await loadJsonl(source);
  const rows = openJsonlRows(source);
  try {
    assert.deepEqual([rows.count, rows.inputShape, rows.targetShape], [whole.count, whole.inputShape, whole.targetShape]);
    const idx = Uint32Array.from({ length: whole.count }, (_, i) => whole.count - 1 - i); // every row, backwards
    const x = new Float32Array(whole.count * rows.inputSize).fill(NaN);
    const y = new Float32Array(whole.count * rows.targetSize).fill(NaN);
    rows.read(idx, x, y);
    idx.forEach((r, j) => {
      assert.ok(sameBytes(x.subarray(j * rows.inputSize, (j + 1) * rows.inputSize), whole.x.subarray(r * rows.inputSize, (r + 1) * rows.inputSize)), `x of row ${r}`);
      assert.ok(sameBytes(y.subarray(j * rows.targetSize, (j + 1) * rows.targetSize), whole.y.subarray(r * rows.targetSize, (r + 1) * rows.targetSize)), `y of row ${r}`);
    });
  } finally {
    rows.close();
  }
}

describe('io: jsonl rows', () => {
  it("the fixtures' rows have the loader's bits and shapes (blank lines, CRLF, extra keys, one-hot)", async () => {
    await sameAsLoader({ format: 'jsonl', path: dataFixture('grid.jsonl') });
    await sameAsLoader({ format: 'jsonl', path: dataFixture('labels.jsonl'), oneHot: 3 });
  });

  it('a file over the scan buffer, with a BOM: every row as the loader reads it, and a read touches only its lines', async () => {
    const { dir, cleanup } = scratchDir();
    try {
      const rng = new Rng(4);
      const line = () => JSON.stringify({ id: 'a', x: Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => rng.normal())), y: [rng.normal(), rng.normal()] });
      const lines = Array.from({ length: 9000 }, line); // ~1.7 MB: lines straddle the 1 MB read
      const file = join(dir, 'big.jsonl');
      writeFileSync(file, '\uFEFF' + lines.join('\r\n') + '\n\n');
      await sameAsLoader({ format: 'jsonl', path: file });
      const rows = openJsonlRows({ format: 'jsonl', path: file });
      try {
        rows.read(Uint32Array.of(0, 4500), new Float32Array(24), new Float32Array(4));
        assert.equal(rows.stats.rows, 2);
        assert.equal(rows.stats.bytes, Buffer.byteLength(lines[0]!) + 3 + 1 + Buffer.byteLength(lines[4500]!) + 1, 'the two lines (with the BOM and their CRs)');
      } finally {
        rows.close();
      }
    } finally {
      cleanup();
    }
  });

  it('a line outvoted by the common shape fails when it is read, naming the line and element', () => {
    const { dir, cleanup } = scratchDir();
    try {
      const file = join(dir, 'odd.jsonl');
      writeFileSync(file, '{"x": [1], "y": 0}\n{"x": [1, 2], "y": 1}\n{"x": [3, 4], "y": 0}\n');
      const rows = openJsonlRows({ format: 'jsonl', path: file });
      try {
        assert.deepEqual(rows.inputShape, [2]);
        rows.read(Uint32Array.of(1, 2), new Float32Array(4), new Float32Array(2));
        assert.throws(() => rows.read(Uint32Array.of(0), new Float32Array(2), new Float32Array(1)), /data\.path: .*line 1: x: expected an array of length 2, got \[1\]/);
      } finally {
        rows.close();
      }
    } finally {
      cleanup();
    }
  });
});

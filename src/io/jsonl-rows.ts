/**
 * Row-addressed JSON-lines reading, for a node of a multi-node run. The format's shapes are those
 * most lines have (jsonl.ts), which only every line can tell, so one streaming scan (1 MB at a time)
 * parses each line once for its shapes and keeps nothing of it but its byte range and line number.
 * Afterwards a row is a positioned read of its line, parsed and flattened alone against those shapes,
 * so it has the loader's float32 bits. A line that does not fit the shapes is found when it is read
 * (the whole-file loader finds it at the start): the run stops there, naming the line and element.
 */
import { readSync } from 'node:fs';
import { errors } from '../errors.js';
import { type JsonlSource, oneHotEncode } from './dataset.js';
import { commonShape, failAt, flatten, parseSample, shapeOf } from './jsonl.js';
import { singleFileRows, type FileRows } from './rows.js';

const CHUNK = 1 << 20;
const NL = 0x0a;

/** Each non-blank line's byte range [start, end) (without CR LF) and 1-based number, and its shapes. */
function scan(fd: number, path: string, oneHot: boolean) {
  const starts: number[] = [];
  const ends: number[] = [];
  const lines: number[] = [];
  const xShapes: number[][] = [];
  const yShapes: number[][] = [];
  const buf = Buffer.alloc(CHUNK);
  let pending: Buffer[] = [];
  let start = 0;
  let line = 1;
  const take = (bytes: Buffer, end: number) => {
    let text = bytes.toString('utf8');
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() !== '') {
      const { x, y } = parseSample(text, oneHot, failAt(path, line));
      starts.push(start);
      ends.push(end);
      lines.push(line);
      xShapes.push(shapeOf(x));
      yShapes.push(oneHot ? [] : shapeOf(y));
    }
  };
  let at = 0;
  for (let n; (n = readSync(fd, buf, 0, CHUNK, at)) > 0; at += n) {
    let i = 0;
    for (let nl; (nl = buf.indexOf(NL, i)) !== -1 && nl < n; i = nl + 1) {
      take(Buffer.concat([...pending, buf.subarray(i, nl)]), at + nl);
      pending = [];
      start = at + nl + 1;
      line++;
    }
    if (i < n) pending.push(Buffer.from(buf.subarray(i, n)));
  }
  take(Buffer.concat(pending), at);
  return { starts, ends, lines, xShapes, yShapes };
}

/**
 * The rows of a `jsonl` data source, read from disk on demand after one scan (see above). Close it
 * when done.
 *
 * @example
 * const rows = openJsonlRows({ format: 'jsonl', path: 'data.jsonl' });
 * await pool.fit(rows, { optimizer: adam(), batchSize: 16 });
 * rows.close();
 */
export function openJsonlRows(source: JsonlSource, field = 'data'): FileRows {
  return singleFileRows(field, source, (fd, path, oneHot) => {
    const rec = scan(fd, path, oneHot !== undefined);
    if (rec.starts.length === 0) throw errors.dataInvalid(path, `no samples in ${source.path}`);
    const inputShape = commonShape(rec.xShapes);
    const yShape = oneHot === undefined ? commonShape(rec.yShapes) : [];
    const inputSize = inputShape.reduce((a, b) => a * b, 1);
    const targetSize = oneHot ?? yShape.reduce((a, b) => a * b, 1);
    return {
      count: rec.starts.length,
      inputShape,
      targetShape: oneHot === undefined ? yShape : [oneHot],
      readRow(r, j, xo, yo) {
        const line = rec.lines[r]!;
        const bytes = Buffer.alloc(rec.ends[r]! - rec.starts[r]!);
        readSync(fd, bytes, 0, bytes.length, rec.starts[r]!);
        let text = bytes.toString('utf8');
        if (line === 1) text = text.replace(/^\uFEFF/, '');
        const fail = failAt(path, line);
        const { x, y } = parseSample(text, oneHot !== undefined, fail);
        const xs: number[] = [];
        const ys: number[] = [];
        flatten(x, inputShape, xs, 'x', fail);
        flatten(y, yShape, ys, 'y', fail);
        xo.set(xs, j * inputSize);
        if (oneHot === undefined) yo.set(ys, j * targetSize);
        else yo.set(oneHotEncode(path, ys, oneHot, () => `line ${line}: y`), j * targetSize);
        return bytes.length;
      },
    };
  });
}

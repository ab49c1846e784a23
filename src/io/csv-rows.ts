/**
 * Row-addressed CSV reading. One streaming scan over the file (1 MB at a time) records where each
 * record starts and ends, honouring quoted fields (a newline inside quotes is not a record's end),
 * a BOM and CRLF; empty lines are skipped, as the whole-file loader skips them. The scan touches every
 * byte once but parses no cell. Afterwards a row is read by its offsets and parsed alone, with the
 * loader's column selection and strict cells (csv.ts), so a row reads the same float32 bits either way.
 * A row's number in messages is the file line it starts on, the header being line 1.
 */
import { readSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { errors } from '../errors.js';
import { cellValue, selectColumns } from './csv.js';
import { type CsvSource, oneHotEncode } from './dataset.js';
import { singleFileRows, type FileRows } from './rows.js';

const CHUNK = 1 << 20;
const NL = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/** Where each record of a file lies: byte ranges [start, end) without the line end, and the line each starts on. */
interface Records {
  starts: number[];
  ends: number[];
  lines: number[];
}

/** The scan: record boundaries of the whole file, outside quotes; a record of only a CR is an empty line. */
function scan(fd: number): Records {
  const out: Records = { starts: [], ends: [], lines: [] };
  const buf = Buffer.alloc(CHUNK);
  let quoted = false;
  let line = 1;
  let start = 0;
  let startLine = 1;
  let at = 0;
  let first = true;
  const close = (end: number) => {
    let e = end;
    if (e > start && lastByte === CR) e--;
    if (e > start) (out.starts.push(start), out.ends.push(e), out.lines.push(startLine));
  };
  let lastByte = -1;
  for (let n; (n = readSync(fd, buf, 0, CHUNK, at)) > 0; at += n) {
    let i = 0;
    if (first && n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = i = 3;
    first = false;
    for (; i < n; i++) {
      const b = buf[i]!;
      if (b === QUOTE) quoted = !quoted;
      else if (b === NL) {
        line++;
        if (!quoted) {
          close(at + i);
          start = at + i + 1;
          startLine = line;
        }
      }
      lastByte = b;
    }
  }
  close(at);
  return out;
}

/**
 * The rows of a `csv` data source, read from disk on demand after one scan of the file (see above).
 * Close it when done. A bad cell is found when its row is read: `fit` then stops, naming the row and
 * column, before the step that needed it changes anything.
 *
 * @example
 * const rows = openCsvRows({ format: 'csv', path: 'iris.csv', x: 'sepal_length:petal_width', y: 'species', oneHot: 3 });
 * await pool.fit(rows, { optimizer: adam(), batchSize: 16 });
 * rows.close();
 */
export function openCsvRows(source: CsvSource, field = 'data'): FileRows {
  return singleFileRows(field, source, (fd, path, oneHot) => {
    const rec = scan(fd);
    const delimiter = source.delimiter ?? ',';
    const text = (r: number) => {
      const buf = Buffer.alloc(rec.ends[r]! - rec.starts[r]!);
      readSync(fd, buf, 0, buf.length, rec.starts[r]!);
      return buf;
    };
    const record = (r: number, buf: Buffer): string[] => {
      try {
        const rows = parse(buf, { delimiter }) as string[][];
        if (rows.length !== 1) throw new Error(`expected one record, found ${rows.length}`);
        return rows[0]!;
      } catch (e) {
        throw errors.dataInvalid(path, `cannot parse CSV ${source.path} at row ${rec.lines[r]}: ${(e as Error).message}`);
      }
    };
    if (rec.starts.length === 0) throw errors.dataInvalid(path, `no header row in ${source.path}`);
    const header = record(0, text(0)).map((h) => h.trim());
    const xi = selectColumns(`${field}.x`, header, source.x);
    const yi = selectColumns(`${field}.y`, header, source.y);
    if (oneHot !== undefined && yi.length !== 1) throw errors.invalidOption(`${field}.y`, 'a single column of class indices (oneHot is set)', yi.map((i) => header[i]));
    const count = rec.starts.length - 1;
    if (count === 0) throw errors.dataInvalid(path, `no data rows in ${source.path}`);
    const ySize = oneHot ?? yi.length;
    return {
      count,
      inputShape: [xi.length],
      targetShape: [ySize],
      readRow(row, j, xo, yo) {
        const r = row + 1;
        const buf = text(r);
        const cells = record(r, buf);
        const line = rec.lines[r]!;
        if (cells.length !== header.length) throw errors.dataInvalid(path, `row ${line}: ${cells.length} fields, the header has ${header.length}`);
        for (let k = 0; k < xi.length; k++) xo[j * xi.length + k] = cellValue(path, cells[xi[k]!]!, line, header[xi[k]!]!);
        if (oneHot === undefined) for (let k = 0; k < yi.length; k++) yo[j * yi.length + k] = cellValue(path, cells[yi[k]!]!, line, header[yi[k]!]!);
        else {
          const label = cellValue(path, cells[yi[0]!]!, line, header[yi[0]!]!);
          yo.set(oneHotEncode(path, [label], oneHot, () => `row ${line} column ${JSON.stringify(header[yi[0]!])}`), j * oneHot);
        }
        return buf.length;
      },
    };
  });
}

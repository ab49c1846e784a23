/**
 * CSV loader. Parsing (quoting, CRLF, BOM, embedded newlines) is csv-parse's job; this file only
 * selects columns by header name and turns cells into float32 with errors that say which row and
 * column a bad cell is in. Row numbers are the file's line numbers with the header as row 1, which
 * is what a spreadsheet or an editor shows.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { errors, fmtValue } from '../errors.js';
import { checkOneHot, type ColumnSelection, type CsvSource, type Dataset, makeDataset, oneHotEncode, requireFile } from './dataset.js';

interface Parsed {
  record: string[];
  info: { lines: number };
}

/**
 * Resolves a column selection against the header to column indices, in the order given.
 * `'a:c'` is a range only when the whole string is not itself a header name.
 */
export function selectColumns(field: string, header: readonly string[], sel: ColumnSelection): number[] {
  const headerText = `(${header.join(', ')})`;
  const indexOf = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw errors.jobInvalid(field, `column ${JSON.stringify(name)} not in header ${headerText}`);
    return i;
  };
  if (typeof sel === 'string') {
    if (header.includes(sel) || !sel.includes(':')) return [indexOf(sel)];
    const parts = sel.split(':');
    if (parts.length !== 2) throw errors.jobInvalid(field, `expected a column range "first:last", got ${JSON.stringify(sel)}`);
    const [a, b] = [indexOf(parts[0]), indexOf(parts[1])];
    if (a > b) throw errors.jobInvalid(field, `column range ${JSON.stringify(sel)} runs backwards in header ${headerText}`);
    return Array.from({ length: b - a + 1 }, (_, k) => a + k);
  }
  if (!Array.isArray(sel) || sel.length === 0 || sel.some((s) => typeof s !== 'string')) {
    throw errors.invalidOption(field, 'a non-empty array of column names or a "first:last" range', sel);
  }
  return sel.map(indexOf);
}

/** Parses one cell strictly: empty cells, `NaN` and `Infinity` are rejected rather than silently becoming 0 or poisoning training. */
export function cellValue(field: string, cell: string, row: number, column: string): number {
  const v = cell.trim() === '' ? NaN : Number(cell);
  if (Number.isNaN(v)) throw errors.dataInvalid(field, `row ${row} column ${JSON.stringify(column)}: not a number: ${fmtValue(cell)}`);
  if (!Number.isFinite(v)) throw errors.dataInvalid(field, `row ${row} column ${JSON.stringify(column)}: not a finite number: ${fmtValue(cell)}`);
  return v;
}

/**
 * Loads a CSV file with a header row. Inputs are the `x` columns (shape `[x.length]`), targets the
 * `y` columns, or one-hot rows of width `oneHot` built from a single `y` column of class indices.
 * `field` prefixes error paths (`data` or `validation`).
 *
 * @example
 * const ds = await loadCsv({ format: 'csv', path: 'iris.csv', x: 'sepal_length:petal_width', y: ['species'], oneHot: 3 });
 * console.log(ds.inputShape, ds.targetShape); // [4] [3]
 */
export async function loadCsv(source: CsvSource, field = 'data'): Promise<Dataset> {
  const oneHot = checkOneHot(field, source.oneHot);
  requireFile(`${field}.path`, source.path);
  const text = await readFile(source.path, 'utf8');
  let rows: Parsed[];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, info: true, delimiter: source.delimiter ?? ',' }) as unknown as Parsed[];
  } catch (e) {
    throw errors.dataInvalid(`${field}.path`, `cannot parse CSV ${source.path}: ${(e as Error).message}`);
  }
  if (rows.length === 0) throw errors.dataInvalid(`${field}.path`, `no header row in ${source.path}`);
  const header = rows[0].record.map((h) => h.trim());
  const xi = selectColumns(`${field}.x`, header, source.x);
  const yi = selectColumns(`${field}.y`, header, source.y);
  if (oneHot !== undefined && yi.length !== 1) {
    throw errors.invalidOption(`${field}.y`, 'a single column of class indices (oneHot is set)', yi.map((i) => header[i]));
  }
  const count = rows.length - 1;
  if (count === 0) throw errors.dataInvalid(`${field}.path`, `no data rows in ${source.path}`);
  const x = new Float32Array(count * xi.length);
  const yRaw = new Float64Array(count * yi.length); // float64 so a bad label prints as written
  const rowOf = (i: number) => rows[i + 1].info.lines;
  for (let i = 0; i < count; i++) {
    const { record } = rows[i + 1];
    const row = rowOf(i);
    for (let j = 0; j < xi.length; j++) x[i * xi.length + j] = cellValue(`${field}.path`, record[xi[j]], row, header[xi[j]]);
    for (let j = 0; j < yi.length; j++) yRaw[i * yi.length + j] = cellValue(`${field}.path`, record[yi[j]], row, header[yi[j]]);
  }
  if (oneHot === undefined) return makeDataset(x, Float32Array.from(yRaw), count, [xi.length], [yi.length]);
  const y = oneHotEncode(`${field}.path`, yRaw, oneHot, (i) => `row ${rowOf(i)} column ${JSON.stringify(header[yi[0]])}`);
  return makeDataset(x, y, count, [xi.length], [oneHot]);
}

/**
 * A job's training data as a {@link RowSource}, for a node of a multi-node run that should read only
 * the rows of its own chunks: every source is read row by row from disk after at most one scan for
 * the rows' offsets (npy-rows.ts, csv-rows.ts, mnist-rows.ts, jsonl-rows.ts).
 */
import { sizeOf, type DataSource } from './dataset.js';
import { openCsvRows } from './csv-rows.js';
import { loadData } from './load.js';
import { openNpyRows } from './npy-rows.js';
import { openMnistRows } from './mnist-rows.js';
import { openJsonlRows } from './jsonl-rows.js';
import { arrayRows, type RowSource } from './rows.js';

/** A row source with the shapes of one sample and a close for its files. */
export type OpenRows = RowSource & { inputShape: readonly number[]; targetShape: readonly number[]; close(): void };

/**
 * Opens `source` for row reads (see above). `field` prefixes error paths, as in {@link loadData}.
 *
 * @example
 * const rows = await openRows({ format: 'npy', x: 'x.npy', y: 'y.npy' });
 * try { await pool.fit(rows, { optimizer: adam(), batchSize: 64 }); } finally { rows.close(); }
 */
export async function openRows(source: DataSource, field = 'data'): Promise<OpenRows> {
  if (source?.format === 'npy') return openNpyRows(source, field);
  if (source?.format === 'csv') return openCsvRows(source, field);
  if (source?.format === 'mnist') return openMnistRows(source, field);
  if (source?.format === 'jsonl') return openJsonlRows(source, field);
  const d = await loadData(source, field);
  return { ...arrayRows(d.x, d.y, sizeOf(d.inputShape), sizeOf(d.targetShape)), inputShape: d.inputShape, targetShape: d.targetShape, close: () => undefined };
}

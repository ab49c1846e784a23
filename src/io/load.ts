/**
 * One entry point for every data format, so the trainer and the CLI need not switch on `format`.
 */
import { errors } from '../errors.js';
import { loadCsv } from './csv.js';
import type { DataSource, Dataset } from './dataset.js';
import { loadJsonl } from './jsonl.js';
import { loadMnist } from './mnist.js';
import { loadNpy } from './npy.js';

/**
 * Loads any {@link DataSource}. `field` is the job-file field the source came from (`data` or
 * `validation`) and prefixes every error path. Relative paths resolve against the current
 * directory; `parseJob` has already made them absolute.
 *
 * @example
 * const ds = await loadData({ format: 'mnist', split: 'train', limit: 1000 });
 */
export async function loadData(source: DataSource, field = 'data'): Promise<Dataset> {
  switch (source?.format) {
    case 'csv':
      return loadCsv(source, field);
    case 'jsonl':
      return loadJsonl(source, field);
    case 'npy':
      return loadNpy(source, field);
    case 'mnist':
      return loadMnist(source, field);
    default:
      throw errors.invalidOption(`${field}.format`, '"csv", "jsonl", "npy" or "mnist"', (source as { format?: unknown })?.format);
  }
}

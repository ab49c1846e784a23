import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { GradPoolError } from '../errors.js';
import { parseJob, type Job } from '../io/job.js';
import { UsageError } from './exit.js';

/** Reads and validates a job file; every problem becomes a UsageError (exit code 2) naming the field. */
export async function readJobFile(path: string | undefined): Promise<Job> {
  if (!path) throw new UsageError('job: expected a job file path, e.g. gradpool train /job/job.json');
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`job: cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (e as Error).message}`);
  }
  try {
    return parseJob(text, { baseDir: dirname(file) });
  } catch (e) {
    if (e instanceof GradPoolError || e instanceof SyntaxError) throw new UsageError(e.message);
    throw e;
  }
}

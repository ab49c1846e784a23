/**
 * Exit codes of the `gradpool` CLI (documented in the README and `gradpool --help`):
 * 0 success · 1 runtime failure (I/O, corrupt checkpoints) · 2 usage, job-file or data-file error, or
 * output.dir locked by another trainer · 130 after SIGINT · 143 after SIGTERM
 * (both only once the checkpoint is written).
 */
export const EXIT = { OK: 0, RUNTIME: 1, USAGE: 2, SIGINT: 130, SIGTERM: 143 } as const;

/** A usage or job-file problem: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * File-system failures as one line a person can act on. A raw Node errno error names a syscall and,
 * for a write into a temporary file, the temporary name; the user needs to know which of *their*
 * files could not be written or read, and why: `cannot write checkpoint out/checkpoints/ckpt-….gpck:
 * no space left on device (ENOSPC)`.
 */
import { isAbsolute, relative } from 'node:path';
import { errnoText, errors } from '../errors.js';

/** An error raised by a Node file-system call (it carries an `E…` code and a syscall or errno). */
export function isErrno(e: unknown): e is NodeJS.ErrnoException {
  const x = e as NodeJS.ErrnoException | null;
  return x instanceof Error && typeof x.code === 'string' && /^E[A-Z0-9]+$/.test(x.code) && (typeof x.errno === 'number' || typeof x.syscall === 'string');
}

/** `file` relative to the working directory when it lies inside it (as the user typed it), else absolute. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/**
 * Runs `fn`; an errno error becomes `cannot <action> <file>: <cause> (<CODE>)` (ERR_IO). `file` is
 * the file the user knows (a checkpoint's final name, not its temporary); without it, the path the
 * error itself names is used (reads name the right file).
 */
export async function withIo<T>(action: string, file: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!isErrno(e)) throw e;
    throw errors.io(action, displayPath(file ?? e.path ?? 'a file'), e);
  }
}

/** The one line for an errno error that reached the top without a `withIo` around it. */
export function errnoLine(e: NodeJS.ErrnoException): string {
  return `cannot ${e.syscall ?? 'access'} ${e.path ? displayPath(e.path) : 'a file'}: ${errnoText(e)}`;
}

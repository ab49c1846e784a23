/**
 * The output directory's lock: one trainer per `output.dir`. Two trainers writing the same
 * checkpoints and metrics corrupt each other (one renames the other's temporary file away, the
 * metrics interleave), so `train` creates `<output.dir>/gradpool.lock` with O_EXCL, holding its pid
 * and host, before it touches anything there, and removes it when it ends. A lock whose pid no longer
 * runs on this host (the trainer was SIGKILLed) is stale and is taken over with a warning; a lock from
 * another host cannot be checked, so it is refused like a live one.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { errors } from '../errors.js';
import { displayPath, isErrno, withIo } from './io-errors.js';

/** The lock file's name inside `output.dir`. */
export const LOCK_FILE = 'gradpool.lock';

/** What a lock file holds. */
interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** A held lock; `release` is synchronous so it also runs from a process `exit` handler. */
export interface RunLock {
  readonly file: string;
  release(): void;
}

function parseHolder(text: string): Holder | undefined {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return Number.isSafeInteger(h.pid) && typeof h.host === 'string' ? (h as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs on this machine. EPERM means it exists but belongs to someone else: alive. */
function alive(pid: number): boolean {
  if (pid === process.pid) return false; // this process does not hold the lock yet, so the pid was reused (e.g. pid 1 in a container)
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const describe = (h: Holder) => `pid ${h.pid} on host ${h.host}${h.since ? ` (since ${h.since})` : ''}`;

/**
 * Moves a stale lock out of the way. A rename is atomic, so of two trainers taking over the same
 * stale lock only one renames *it*; if what we renamed is not the stale lock we read (another trainer
 * took over first and wrote its own), it is linked back (link never overwrites) and we refuse.
 */
async function takeOver(file: string, staleText: string): Promise<boolean> {
  const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (e) {
    if (isErrno(e) && e.code === 'ENOENT') return true; // released meanwhile: just try to create it
    throw e;
  }
  if ((await readFile(aside, 'utf8')) !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone created a newer lock meanwhile; theirs stands either way.
    }
    await unlink(aside);
    return false;
  }
  await unlink(aside);
  return true;
}

/**
 * Creates `<dir>/gradpool.lock` (O_EXCL) for this process, taking over a stale one with a warning.
 * Throws ERR_LOCKED (exit code 2) naming the lock file and its holder's pid when another trainer
 * holds it. The lock is released by `release()` and, as a fallback, when the process exits.
 */
export async function acquireRunLock(dir: string, warn: (message: string) => void): Promise<RunLock> {
  const file = join(dir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Holder) + '\n';
  // A few rounds: a retry follows a stale takeover, or a lock released between our open and our read.
  for (let round = 0; round < 3; round++) {
    try {
      const fh = await open(file, 'wx');
      try {
        await fh.writeFile(mine);
      } finally {
        await fh.close();
      }
      return held(file, mine);
    } catch (e) {
      if (!isErrno(e) || e.code !== 'EEXIST') {
        await unlink(file).catch(() => {}); // a lock we created but could not fill must not block the next run
        throw isErrno(e) ? errors.io('create lock', displayPath(file), e) : e;
      }
    }
    const text = await withIo('read lock', file, () => readFile(file, 'utf8')).catch((e: unknown) => {
      if ((e as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT') return undefined; // released meanwhile
      throw e;
    });
    if (text === undefined) continue;
    const holder = parseHolder(text);
    if (!holder) throw errors.locked('output.dir', displayPath(file), 'an unknown process (the lock file does not hold a pid and host)');
    if (holder.host !== hostname() || alive(holder.pid)) {
      const other = holder.host !== hostname() ? `; it is another host's, so gradpool cannot tell whether that trainer still runs` : '';
      throw errors.locked('output.dir', displayPath(file), describe(holder) + other);
    }
    if (await takeOver(file, text)) warn(`output.dir: took over the stale lock ${displayPath(file)} of ${describe(holder)}, which no longer runs`);
  }
  throw errors.locked('output.dir', displayPath(file), 'another trainer that keeps taking it');
}

function held(file: string, mine: string): RunLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      // Only our own lock: never remove one a later trainer took over after ours went stale.
      if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
    } catch {
      // Already gone: nothing to release.
    }
  };
  process.on('exit', release);
  return { file, release };
}

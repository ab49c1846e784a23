/**
 * Crash-safe file replacement, shared by checkpoints and exported weights: readers see either the
 * old file or the complete new one, even after a power cut.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

async function writeAll(fh: FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  for (const part of parts) {
    for (let done = 0; done < part.length; ) done += (await fh.write(part, done, part.length - done)).bytesWritten;
  }
}

/** fsync a directory so a rename in it survives power loss. Windows cannot open directories; skip there. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `parts` back to back to `file` atomically: into `.<name>.<pid>.<random>.tmp` in the same
 * directory (a rename is only atomic within one file system), fsync, rename over `file`, fsync the
 * directory. Creates the directory if needed. On failure the temporary file is removed.
 */
export async function writeFileAtomic(file: string, parts: readonly Uint8Array[]): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    await writeAll(fh, parts);
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => {}); // may already be closed
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

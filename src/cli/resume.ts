/**
 * `--resume`: which checkpoint to continue from, and whether it belongs to this run. A checkpoint is
 * this run's when the job file's hash and the digests of the model and data files match; a change is
 * refused (exit code 2) naming what changed, unless `--force`, which resumes with a warning. When no
 * checkpoint verifies but the earlier run had some, nothing is resumed silently from step 0: the
 * run fails, naming the damaged files (moved to `checkpoints/corrupt/`, kept).
 */
import { basename, join } from 'node:path';
import { GradPoolError } from '../errors.js';
import { CORRUPT_DIR, listCorrupt, readCheckpoint, takeLatestValid, type Checkpoint } from '../io/checkpoint.js';
import { UsageError } from './exit.js';
import { changedFiles, type FileDigest } from './identity.js';
import { displayPath, withIo } from './io-errors.js';
import type { TrainMeta } from './state.js';

/** What identifies a run: the job file's hash and the digests of the files it names. */
export interface RunIdentity {
  readonly jobHash: string;
  readonly files: readonly FileDigest[];
}

/** What is wrong with a damaged checkpoint, read again, so a second `--resume` names it as the first did. */
async function damage(file: string): Promise<string> {
  try {
    await readCheckpoint(file);
    return 'it verifies now, but was damaged when it was moved here';
  } catch (e) {
    const prefix = `checkpoint ${file}: `;
    return e instanceof GradPoolError && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : (e as Error).message;
  }
}

/** Every checkpoint is damaged: fail (exit code 1), naming each file and what is wrong with it. */
async function allCorrupt(ckptDir: string): Promise<GradPoolError> {
  const files = await listCorrupt(ckptDir);
  const named: string[] = [];
  for (const f of files) named.push(`${basename(f)} (${await damage(f)})`);
  return new GradPoolError(
    'ERR_CHECKPOINT_CORRUPT',
    `--resume: every checkpoint in ${displayPath(ckptDir)} is corrupt, so there is nothing to resume from: ${named.join(', ')}; they are kept in ${displayPath(join(ckptDir, CORRUPT_DIR))}; pass --fresh to start over (it moves the earlier run aside)`,
  );
}

/**
 * The checkpoint to resume from, or `undefined` (with a warning) when the directory has none at
 * all. Throws when every checkpoint is corrupt, or when the job, model or data changed and `force`
 * is not set.
 */
export async function resumePoint(ckptDir: string, identity: RunIdentity, force: boolean, warn: (message: string) => void): Promise<Checkpoint | undefined> {
  const { checkpoint } = await withIo('read checkpoints in', ckptDir, () => takeLatestValid(ckptDir, { onWarning: warn }));
  if (!checkpoint) {
    if ((await listCorrupt(ckptDir)).length > 0) throw await allCorrupt(ckptDir);
    warn(`--resume: no checkpoint in ${displayPath(ckptDir)}; starting from the beginning`);
    return undefined;
  }
  const meta = checkpoint.meta as Partial<TrainMeta> | null;
  const at = `the checkpoint at step ${meta?.globalStep}`;
  if (meta?.jobHash !== identity.jobHash) {
    const why = `the job file changed since ${at} was written (job hash ${identity.jobHash.slice(0, 12)}…, checkpoint ${String(meta?.jobHash).slice(0, 12)}…)`;
    if (!force) throw new UsageError(`--resume: ${why}; pass --force to resume anyway`);
    warn(`--resume --force: resuming although ${why}`);
  }
  const changed = changedFiles(identity.files, meta?.files);
  if (changed === undefined) warn(`--resume: ${at} was written by an older gradpool that did not record the model and data files' digests; their contents are not checked`);
  else if (changed.length > 0) {
    const why = `${changed.join(', ')} changed since ${at} was written`;
    if (!force) throw new UsageError(`--resume: ${why}; pass --force to resume anyway`);
    warn(`--resume --force: resuming although ${why}`);
  }
  return checkpoint;
}

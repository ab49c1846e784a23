/**
 * A run's identity beyond the job file: the bytes of the model module and of each training data
 * file, as streaming SHA-256 digests stored in every checkpoint. `--resume` compares them, so an
 * edited model.js (relu swapped for tanh) or a relabelled CSV is noticed instead of silently
 * continuing a different run. Validation data is left out, as in `jobHash`: it never changes the
 * weights. The model module's own imports are not followed (only the file the job names).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isModelJsonRef } from '../model/layers/io-handler.js';
import { withIo } from './io-errors.js';
import type { Job } from './job.js';

/** One input file's digest: the job field that names it, its path relative to the job's directory, its SHA-256 (hex). */
export interface FileDigest {
  readonly field: string;
  readonly path: string;
  readonly sha256: string;
}

/** SHA-256 (hex) of a file's bytes, streamed so a large data file is never held in memory twice. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await withIo('read', file, () => pipeline(createReadStream(file), hash));
  return hash.digest('hex');
}

/** The weight files a tfjs Layers model.json lists (its `weightsManifest` paths, relative to it). */
async function layersWeightFiles(modelJson: string): Promise<string[]> {
  const text = await withIo('read model', modelJson, () => readFile(modelJson, 'utf8'));
  let manifest: { paths?: unknown }[] = [];
  try {
    manifest = (JSON.parse(text) as { weightsManifest?: { paths?: unknown }[] }).weightsManifest ?? [];
  } catch {
    return []; // loading the model reports the broken JSON; its bytes are hashed all the same
  }
  const paths = manifest.flatMap((g) => (Array.isArray(g?.paths) ? g.paths.filter((p): p is string => typeof p === 'string') : []));
  return paths.map((p) => resolve(dirname(modelJson), p));
}

/** The files that determine the trained weights, by the job field that names them. */
async function inputFiles(job: Job): Promise<{ field: string; file: string }[]> {
  const files = [{ field: 'model', file: job.model }];
  if (isModelJsonRef(job.model)) for (const w of await layersWeightFiles(job.model)) files.push({ field: 'model (weights)', file: w });
  const d = job.data;
  if (d.format === 'npy') files.push({ field: 'data.x', file: d.x }, { field: 'data.y', file: d.y });
  else if (d.format !== 'mnist') files.push({ field: 'data.path', file: d.path }); // MNIST ships inside a package: its spec is in jobHash
  return files;
}

/** Digests of the model module (or model.json and its weights) and every training data file. */
export async function inputDigests(job: Job): Promise<FileDigest[]> {
  const rel = (p: string) => relative(job.baseDir, p).split(sep).join('/');
  const out: FileDigest[] = [];
  for (const { field, file } of await inputFiles(job)) out.push({ field, path: rel(file), sha256: await sha256File(file) });
  return out;
}

/**
 * The files whose bytes differ from the checkpoint's digests, described for a message
 * (`model.js (model: sha256 1a2b3c4d5e6f… now, 0f9e8d7c6b5a… at the checkpoint)`). A file the
 * checkpoint has no digest for counts as changed; `undefined` means the checkpoint predates digests.
 */
export function changedFiles(now: readonly FileDigest[], saved: readonly FileDigest[] | undefined): string[] | undefined {
  if (saved === undefined) return undefined;
  const short = (h: string) => `${h.slice(0, 12)}…`;
  const changed: string[] = [];
  for (const d of now) {
    const was = saved.find((s) => s.path === d.path);
    if (!was) changed.push(`${d.path} (${d.field}: not part of the checkpoint's run)`);
    else if (was.sha256 !== d.sha256) changed.push(`${d.path} (${d.field}: sha256 ${short(d.sha256)} now, ${short(was.sha256)} at the checkpoint)`);
  }
  for (const s of saved) if (!now.some((d) => d.path === s.path)) changed.push(`${s.path} (${s.field}: no longer part of the job)`);
  return changed;
}

/**
 * Field checkers for job files. Each takes the field's dotted path (`output.keepLast`) so every
 * error names exactly where in the JSON the problem is, in the uniform `path: expected …, got …`
 * form from errors.ts.
 */
import { isAbsolute, resolve } from 'node:path';
import { errors } from '../errors.js';
import { requireFile } from '../io/dataset.js';

/** A parsed JSON object. */
export type Obj = Record<string, unknown>;

/** `prefix.key`, or just `key` at the top level. */
export const at = (prefix: string, key: string): string => (prefix ? `${prefix}.${key}` : key);

/** Checks `v` is a JSON object (not null, not an array). */
export function objectAt(path: string, v: unknown, expected: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw errors.type(path, expected, v);
  return v as Obj;
}

/** Rejects unknown keys: a typo (`batchsize`, `lr`) must not silently train with a default. */
export function onlyKnown(prefix: string, o: Obj, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw errors.jobInvalid(at(prefix, k), `unknown field (expected one of: ${known.join(', ')})`);
  }
}

/** A positive integer; `fallback` applies only when the field is absent. */
export function posInt(path: string, v: unknown, fallback?: number): number {
  const x = v === undefined ? fallback : v;
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1) throw errors.invalidOption(path, 'a positive integer', x);
  return x;
}

/** A finite number accepted by `ok`; `expected` describes the accepted range for the message. */
export function numberIn(path: string, v: unknown, expected: string, ok: (x: number) => boolean, fallback?: number): number {
  const x = v === undefined ? fallback : v;
  if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) throw errors.invalidOption(path, expected, x);
  return x;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(path: string, v: unknown, choices: readonly T[], fallback?: T): T {
  const x = v === undefined ? fallback : v;
  if (!choices.includes(x as T)) throw errors.invalidOption(path, choices.map((c) => JSON.stringify(c)).join(' or '), x);
  return x as T;
}

/** A non-empty string. */
export function nonEmptyString(path: string, v: unknown, expected: string, fallback?: string): string {
  const x = v === undefined ? fallback : v;
  if (typeof x !== 'string' || x.length === 0) throw errors.invalidOption(path, expected, x);
  return x;
}

/** A path to an existing file, resolved against `baseDir`; returns the absolute path. */
export function existingFile(path: string, v: unknown, baseDir: string, expected = 'a file path'): string {
  const file = resolvePath(nonEmptyString(path, v, expected), baseDir);
  requireFile(path, file);
  return file;
}

/** Resolves a job-file path against `baseDir` (absolute paths are kept). */
export function resolvePath(p: string, baseDir: string): string {
  return isAbsolute(p) ? resolve(p) : resolve(baseDir, p);
}

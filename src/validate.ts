/** The option checks every public entry point shares, so each rejects alike and names the field. */
import { errors } from './errors.js';

/** A positive integer (threads, chunk sizes, epochs, batch sizes). */
export const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** A finite number > 0. */
export const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * Rejects the first key of `o` outside `known`, naming it under `path`:
 * `dp.clipnorm: unknown field (expected one of: maxGradNorm, noiseMultiplier, expectedBatchSize)`.
 * A misspelt field would otherwise be silently ignored and its default used. `code` lets the model
 * definition report `ERR_MODEL_INVALID` like its other checks.
 */
export function checkKnownFields(path: string, o: object, known: readonly string[], code?: string): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw errors.unknownField(`${path}.${k}`, known, code);
}

/**
 * Checks that `o` is an object holding only `known` keys (see {@link checkKnownFields}). `what`
 * describes the object for the type error (`'an object with an optimizer'`); `path` names it:
 * `'options'` for a call's options, `'dp'` or `'validation'` for a nested one.
 */
export function checkOptionsObject(o: unknown, known: readonly string[], what = 'an object', path = 'options'): void {
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw errors.type(path, what, o);
  checkKnownFields(path, o, known);
}

/** The option checks every public entry point shares, so each rejects alike and names the field. */
import { errors, raw } from './errors.js';

/** A positive integer (threads, chunk sizes, epochs, batch sizes). */
export const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

/** A finite number > 0. */
export const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;

/**
 * Checks that `o` is an object holding only `known` keys (a misspelt option would otherwise be
 * silently ignored). `what` describes the object for the type error: `'an object with an optimizer'`.
 */
export function checkOptionsObject(o: unknown, known: readonly string[], what = 'an object'): void {
  if (!o || typeof o !== 'object') throw errors.type('options', what, o);
  for (const k of Object.keys(o)) if (!known.includes(k)) throw errors.invalidOption(`options.${k}`, `one of the known options (${known.join(', ')})`, raw('an unknown option'));
}

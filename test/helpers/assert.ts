/** The test suite's assertions: exact gradpool errors, bitwise equality, and tolerance-based closeness. */
import { AssertionError } from 'node:assert';
import assert from 'node:assert/strict';
import { GradPoolError } from '../../src/errors.js';

function check(e: unknown, message: string, code?: string): true {
  assert.ok(e instanceof GradPoolError, `expected a GradPoolError, got ${String(e)}`);
  assert.equal(e.message, message);
  if (code) assert.equal(e.code, code);
  return true;
}

/** Asserts `fn` throws a GradPoolError with exactly `message` (and `code` when given). */
export function throwsExactly(fn: () => unknown, message: string, code?: string): void {
  assert.throws(fn, (e: unknown) => check(e, message, code));
}

/** Asserts the promise rejects with a GradPoolError with exactly `message` (and `code` when given). */
export async function rejectsExactly(p: Promise<unknown> | (() => Promise<unknown>), message: string, code?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => check(e, message, code));
}

/** Bitwise equality of two typed arrays (NaN payloads and -0 included). */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return ua.length === ub.length && ua.every((v, i) => v === ub[i]);
}

/**
 * Elementwise equality as numbers: bitwise except that +0 equals -0 (NaN equals nothing). The loop and
 * vectorized executors may give a zero gradient different signs (a matmul's 0 + -0 vs a product's -0).
 */
export function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Tolerances for {@link assertClose}; an element passes when `|actual - expected| <= atol + rtol * |expected|`. */
export interface CloseOptions {
  /** Relative tolerance (default 1e-5, as numpy.allclose). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8, as numpy.allclose); raise it when expected values can be ~0. */
  atol?: number;
  /**
   * A floor relative to the largest |expected|: each element's allowance also gets
   * `rtol * floor * max|expected|`, so elements near zero are judged on the array's scale.
   */
  floor?: number;
  /** If given, the worst element is also reported as a multi-index into this row-major shape. */
  shape?: readonly number[];
}

/**
 * Asserts two arrays are elementwise close (numpy.allclose semantics, not symmetric: the tolerance
 * scales with `expected`). On failure throws an AssertionError naming `label`, how many elements
 * failed, and the worst one (largest error relative to its allowance) with both values. NaN matches
 * only NaN and ±Infinity only itself, so a non-finite result never passes by accident.
 *
 * @example
 * ```ts
 * assertClose(await t.data(), [1, 2, 3], { rtol: 1e-6, atol: 1e-7 }, 'tensordot(a, b, 1)');
 * // fails with e.g.:
 * // tensordot(a, b, 1): 1 of 3 elements not close (atol=1e-7, rtol=0.000001); worst at index 2:
 * //   actual 3.5, expected 3 (|diff| 0.500 > allowed 0.00000310)
 * ```
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions = {}, label = 'values'): void {
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-8;
  if (actual.length !== expected.length) {
    throw new AssertionError({ message: `${label}: expected length ${expected.length}, got length ${actual.length}` });
  }
  let scale = 0;
  if (opts.floor) for (let i = 0; i < expected.length; i++) if (Number.isFinite(expected[i]!)) scale = Math.max(scale, Math.abs(expected[i]!));
  const allowance = (e: number) => atol + rtol * (Math.abs(e) + (opts.floor ?? 0) * scale);
  let failures = 0;
  let worst = -1;
  let worstScore = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const diff = Math.abs(a - e);
    const allowed = allowance(e);
    let score: number;
    if (!Number.isFinite(a) || !Number.isFinite(e)) {
      if (Number.isNaN(a) ? Number.isNaN(e) : a === e) continue;
      score = Infinity;
    } else {
      if (diff <= allowed) continue;
      score = allowed > 0 ? diff / allowed : Infinity;
    }
    failures++;
    if (score > worstScore) {
      worstScore = score;
      worst = i;
    }
  }
  if (failures === 0) return;
  const a = actual[worst]!;
  const e = expected[worst]!;
  const where = opts.shape ? ` ${multiIndex(worst, opts.shape)}` : '';
  throw new AssertionError({
    message:
      `${label}: ${failures} of ${expected.length} elements not close (atol=${atol}, rtol=${rtol}); ` +
      `worst at index ${worst}${where}: actual ${a}, expected ${e} ` +
      `(|diff| ${fmt(Math.abs(a - e))} > allowed ${fmt(allowance(e))})`,
  });
}

function multiIndex(flat: number, shape: readonly number[]): string {
  const idx: number[] = new Array(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = n > 0 ? flat % n : 0;
    flat = n > 0 ? Math.floor(flat / n) : 0;
  }
  return `[${idx.join(',')}]`;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(3) : String(x);
}

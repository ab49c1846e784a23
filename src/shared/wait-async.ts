/** What Atomics.waitAsync returns: at once when the value already differs, else a promise of the wake-up. */
export type WaitResult = { async: false; value: string } | { async: true; value: Promise<string> };

/**
 * Atomics.waitAsync (V8, Node ≥ 16; not in the ES2022 lib's types this project compiles against), or
 * undefined in an engine without it.
 */
export const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, index: number, value: number) => WaitResult }).waitAsync;

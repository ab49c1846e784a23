/**
 * Errors and warnings of the vectorizing ('vmap') backend. Kept apart from the rules so tests and the
 * executor can import them without pulling in the rule table.
 */

/**
 * A kernel could not be run over a batch at all: not by a batching rule, and not by the per-sample
 * fallback either (its per-sample outputs have different shapes, e.g. `Unique`), or the model asked for
 * the concrete values of a batched tensor (`dataSync()` inside the model), which have no single
 * per-sample answer while the whole chunk runs at once. The executor reacts by running that chunk
 * sample by sample on the inner backend.
 */
export class BatchingRuleError extends Error {
  constructor(
    /** The kernel that failed, or `'readSync'` for a value read. */
    readonly kernel: string,
    message: string,
    /** The batching rule that failed, when the failure was inside one (its kernel's name). */
    readonly rule?: string,
  ) {
    super(message);
    this.name = 'BatchingRuleError';
  }
}

const warned = new Set<string>();
let sink: (message: string) => void = (m) => console.warn(m);

/**
 * Prints `message` the first time `key` is seen in this thread, like torch.func's one-time fallback
 * warning: a slow path is worth knowing about, but not once per chunk.
 */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  sink(message);
}

/**
 * Test hook: routes warnings to `fn` (or back to `console.warn` when omitted) and forgets which were
 * already printed, so a test can observe the "once" behaviour from a clean slate.
 */
export function resetWarnings(fn?: (message: string) => void): void {
  warned.clear();
  sink = fn ?? ((m) => console.warn(m));
}

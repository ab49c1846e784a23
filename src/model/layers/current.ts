/**
 * The tfjs-layers layer whose call is running in this thread (the innermost), so that a message raised
 * below it — a kernel's per-sample fallback warning in the vectorized executor — can say which layer
 * it came from. The adapter (adapter.ts) enters it around each layer's call.
 */
const stack: string[] = [];

/** `layer <Class> (<name>)` of the running layer call, or undefined outside any. */
export function currentLayer(): string | undefined {
  return stack.at(-1);
}

/** Runs `fn` as the call of the layer labelled `label`. */
export function inLayer<T>(label: string, fn: () => T): T {
  stack.push(label);
  try {
    return fn();
  } finally {
    stack.pop();
  }
}

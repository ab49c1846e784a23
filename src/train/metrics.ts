/**
 * Metrics computed on the coordinator from predictions (tfjs `metrics: ['accuracy']` semantics):
 * for multi-class outputs, argmax(pred) === argmax(y); for one output, (pred > 0.5) === (y > 0.5).
 */
export function accuracy(pred: Float32Array, y: Float32Array, B: number): number {
  if (B === 0) return NaN;
  const k = pred.length / B;
  const ky = y.length / B;
  let hits = 0;
  for (let i = 0; i < B; i++) {
    if (k === 1) {
      if (pred[i]! > 0.5 === y[i * ky]! > 0.5) hits++;
    } else if (argmax(pred, i * k, k) === argmax(y, i * ky, ky)) hits++;
  }
  return hits / B;
}

function argmax(a: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[off + j]! > a[off + best]!) best = j;
  return best;
}

export const METRICS = ['accuracy'] as const;
export type Metric = (typeof METRICS)[number];

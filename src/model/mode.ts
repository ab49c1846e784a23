/**
 * Whether the model runs for training (gradients, steps) or inference (predict, evaluate) in this
 * thread right now. A worker sets it around each chunk op (workers/chunks.ts), so a model that behaves
 * differently when training — a tfjs-layers model's Dropout — sees the op without every executor
 * passing a flag through `forward(params, x)`. Threads run one op at a time, so one flag suffices.
 */
let training = false;

/** True while a gradient op runs (`perSampleGrads`, `sumGrads`); false for `forward` and `evaluate`. */
export function isTraining(): boolean {
  return training;
}

/** Runs `fn` with the training flag set to `flag`, restoring the previous value afterwards. */
export function withTraining<T>(flag: boolean, fn: () => T): T {
  const previous = training;
  training = flag;
  try {
    return fn();
  } finally {
    training = previous;
  }
}

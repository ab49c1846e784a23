/**
 * Every error gradpool raises is built here, so messages stay uniform: they name the argument or
 * field first, then say what was expected and what was got (`x: expected shape [B,3,2], got [8,3]`).
 * Tests assert these messages exactly, so change them deliberately.
 */

/** The one error class gradpool throws. `code` is stable and machine-readable; `message` is for people. */
export class GradPoolError extends Error {
  readonly code: string;
  /** For a failure of one sample of a call's batch: its index in that batch (what `fit` maps to a dataset row). */
  readonly sample?: number;
  constructor(code: string, message: string, options?: { cause?: unknown; sample?: number }) {
    super(message, options);
    this.name = 'GradPoolError';
    this.code = code;
    if (options?.sample !== undefined) this.sample = options.sample;
  }
}

/** Formats a shape the way messages print it: `[B,3,2]`. */
export function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

/** Wraps text that should appear verbatim after "got" (e.g. `length 8`), not quoted as a string value. */
export class Raw {
  constructor(readonly text: string) {}
}
export const raw = (text: string) => new Raw(text);

/** Formats any value compactly for "got …" clauses. */
export function fmtValue(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return v.length <= 8 ? `[${v.map(fmtValue).join(',')}]` : `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `${/^[AEIO]/.test(v.constructor.name) ? 'an' : 'a'} ${v.constructor.name}`;
  try {
    const s = JSON.stringify(v);
    return s.length <= 60 ? s : `an object`;
  } catch {
    return 'an object';
  }
}

/** What the operating system calls each errno a user is likely to meet (as strerror words it). */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'file exists',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  EBUSY: 'resource busy',
  EXDEV: 'cross-device link',
};

/** `no space left on device (ENOSPC)`: the errno's description (from the table, else Node's message) and its code. */
export function errnoText(e: NodeJS.ErrnoException): string {
  const code = e.code ?? 'EUNKNOWN';
  // Node's own message reads `ENOSPC: no space left on device, write '/path'`; keep its middle part for codes not in the table.
  const fromNode = /^[A-Z0-9_]+: ([^,]+)/.exec(e.message ?? '')?.[1];
  return `${ERRNO_TEXT[code] ?? fromNode ?? e.message} (${code})`;
}

function causeText(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

export const errors = {
  /** An option or field has the wrong value: `threads: expected a positive integer, got 0`. */
  invalidOption: (name: string, expected: string, got: unknown) =>
    new GradPoolError('ERR_INVALID_OPTION', `${name}: expected ${expected}, got ${fmtValue(got)}`),

  /** A key no option or field of that name exists for: `dp.clipnorm: unknown field (expected one of: maxGradNorm, …)`. */
  unknownField: (path: string, known: readonly string[], code = 'ERR_INVALID_OPTION') =>
    new GradPoolError(code, `${path}: unknown field (expected one of: ${known.join(', ')})`),

  /** A finite input value beyond float32's range, which converting would turn into ±Infinity. */
  float32Range: (name: string, index: number, value: number) =>
    new GradPoolError('ERR_INVALID_OPTION', `${name}: expected values within float32 range (|v| <= 3.4028234663852886e38), got ${value} at flat index ${index}`),

  /** An array argument has the wrong shape: `x: expected shape [B,3,2], got [8,3]`. */
  shape: (name: string, expected: readonly (number | string)[], got: readonly number[]) =>
    new GradPoolError('ERR_SHAPE', `${name}: expected shape ${fmtShape(expected)}, got ${fmtShape(got)}`),

  /** A function transform needs a scalar where f returned more: `f's output: expected shape [], got [3]; grad needs a scalar output: …`. */
  scalarOutput: (name: string, got: readonly number[], hint: string) =>
    new GradPoolError('ERR_SHAPE', `${name}: expected shape [], got ${fmtShape(got)}; ${hint}`),

  /** The batch sizes of two arguments disagree. */
  batchMismatch: (name: string, expected: number, from: string, got: number) =>
    new GradPoolError('ERR_BATCH_MISMATCH', `${name}: expected batch size ${expected} (from ${from}), got ${got}`),

  /** An argument has the wrong type altogether. */
  type: (name: string, expected: string, got: unknown) =>
    new GradPoolError('ERR_INVALID_ARG_TYPE', `${name}: expected ${expected}, got ${fmtValue(got)}`),

  /** An argument contains NaN or ±Infinity where finite numbers are required. */
  nonFinite: (name: string, index: number) =>
    new GradPoolError('ERR_NON_FINITE', `${name}: expected finite numbers, got a non-finite value at flat index ${index}`),

  /** The model module cannot be imported, or its import throws. */
  modelLoad: (moduleId: string, cause: unknown) =>
    new GradPoolError('ERR_MODEL_LOAD', `model: failed to load ${moduleId}: ${causeText(cause)}`, { cause }),

  /** A tfjs-layers-only operation on a pool whose model is a defineModel module. */
  notLayersModel: (op: string) =>
    new GradPoolError('ERR_NOT_LAYERS_MODEL', `${op}: expected a pool made from a tfjs-layers model (a tf.LayersModel or a model.json), got one made from a defineModel module, which has no Layers topology (its weights: getParams())`),

  /** The model module loaded but its definition is wrong; `field` is a path such as `params.W.shape`. */
  modelInvalid: (field: string, expected: string, got: unknown) =>
    new GradPoolError('ERR_MODEL_INVALID', `model.${field}: expected ${expected}, got ${fmtValue(got)}`),

  /** A gradient call on a model tfjs cannot differentiate; `why` (from pool creation) names the op. */
  notDifferentiable: (op: string, why: string) => new GradPoolError('ERR_MODEL_INVALID', `${op}: ${why}`),

  /** A random op inside the model under `randomness: 'error'`; `op` is the public op the model called (`tf.dropout`). */
  randomness: (op: string, advice = "Create the pool with randomness 'different' (a draw per sample, the default) or 'same' (one draw per call, shared by the batch) to allow them") =>
    new GradPoolError('ERR_RANDOMNESS', `randomness: the model calls ${op}; random ops are refused with randomness 'error'. ${advice}`),

  /** The model's forward or loss threw (or misbehaved) for one sample; the index is in the whole batch. */
  sampleFailed: (op: string, sample: number, cause: string) =>
    new GradPoolError('ERR_SAMPLE_FAILED', `${op}: sample ${sample}: ${cause}`, { sample }),

  /** A worker died (exit, uncaught throw, out of memory) while running part of a call. */
  workerCrashed: (op: string, cause: unknown) =>
    new GradPoolError(
      'ERR_WORKER_CRASHED',
      `${op}: a worker crashed (${causeText(cause)}); the call was rejected, the pool replaced the worker, and parameters are unchanged`,
      { cause },
    ),

  /** The pool was closed. */
  closed: (op: string) => new GradPoolError('ERR_POOL_CLOSED', `${op}: the pool is closed`),

  /** A queued call that `close()` rejected before it started: `by` is `close({ force: true })` or `close() after its grace period of 50 ms`. */
  closedBeforeStart: (op: string, by: string) =>
    new GradPoolError('ERR_POOL_CLOSED', `${op}: the pool was closed by ${by} before this call started; nothing ran`),

  /** A call stopped while it ran: `by` is `its signal` or `close({ force: true }) after its grace period of 50 ms`. */
  aborted: (op: string, by: string) =>
    new GradPoolError('ERR_ABORTED', `${op}: aborted by ${by}; the workers running it were terminated and replaced, and parameters and optimizer state are unchanged`),

  /** A queued call whose signal fired before it started. */
  abortedBeforeStart: (op: string) => new GradPoolError('ERR_ABORTED', `${op}: aborted by its signal before it started; nothing ran`),

  /** A call that ran longer than the pool's `callTimeoutMs`. */
  timedOut: (op: string, ms: number) =>
    new GradPoolError(
      'ERR_TIMEOUT',
      `${op}: did not finish within callTimeoutMs (${ms} ms); the workers running it were terminated and replaced, and parameters and optimizer state are unchanged`,
    ),

  /**
   * A sample's loss or gradient was NaN or infinite (the lowest such sample of the batch). `after` says
   * what that means for the call: by default, that a step changed nothing.
   */
  nonFiniteGradient: (op: string, sample: number, after = 'parameters and optimizer state are unchanged') =>
    new GradPoolError('ERR_NON_FINITE_GRADIENT', `${op}: sample ${sample} has a non-finite loss or gradient; ${after}`, { sample }),

  /**
   * The optimizer update itself produced a non-finite value (an overflow: e.g. a learning rate of
   * 1e38): `what` is `parameter W` or `optimizer state v of parameter W`, `index` the element within it.
   */
  nonFiniteUpdate: (op: string, what: string, index: number, value: number, lr: number) =>
    new GradPoolError(
      'ERR_NON_FINITE_UPDATE',
      `${op}: the update would make ${what} non-finite (${value} at element ${index}; learning rate ${lr}); nothing was committed: parameters and optimizer state are unchanged`,
    ),

  /**
   * A step inside `fit` failed. `at` locates it (`step 3 (epoch 0, batch 2)`), `cause` is the step's
   * own complaint re-worded for the dataset, `applied` says what earlier steps of this fit changed.
   */
  fitStepFailed: (code: string, at: string, cause: string, applied: string, original: unknown) =>
    new GradPoolError(code, `fit: ${at}: ${cause}; that step was not applied; ${applied}`, { cause: original }),

  /** `fit`'s data failed it after some steps: `data: expected …, got …; <what this fit applied>`. */
  fitData: (expected: string, got: string, applied: string) => new GradPoolError('ERR_INVALID_OPTION', `data: expected ${expected}, got ${got}; ${applied}`),

  /** Paired axes of a contraction have different sizes: `axes: contracted dimensions differ: a axis 0 has size 3, b axis 0 has size 4`. */
  contractedMismatch: (name: string, aAxis: number, aSize: number, bAxis: number, bSize: number) =>
    new GradPoolError(
      'ERR_SHAPE',
      `${name}: contracted dimensions differ: a axis ${aAxis} has size ${aSize}, b axis ${bAxis} has size ${bSize}`,
    ),

  /** A step, setParams or a second accumulator while an accumulator is open: `what` names it (`accumulator 1 (2 physical batches, 64 samples added)`). */
  accumulatorOpen: (op: string, what: string) =>
    new GradPoolError('ERR_ACCUMULATOR_OPEN', `${op}: expected no open accumulator on this pool (finish it with step() or discard() first), got ${what}`),

  /** A call on an accumulator that was stepped or discarded: `what` names it and how it ended. */
  accumulatorClosed: (op: string, what: string) =>
    new GradPoolError('ERR_ACCUMULATOR_CLOSED', `${op}: expected an open accumulator, got ${what} (open a new one with pool.accumulate())`),

  /** A job file field is wrong; `path` is the field path: `data.path: file not found: /job/train.csv`. */
  jobInvalid: (path: string, msg: string) => new GradPoolError('ERR_JOB_INVALID', `${path}: ${msg}`),

  /** A data file's content is wrong; `path` is the job field naming the file: `data.path: row 17 column "a": not a number: "x"`. */
  dataInvalid: (path: string, msg: string) => new GradPoolError('ERR_DATA_INVALID', `${path}: ${msg}`),

  /** A checkpoint file is unreadable, truncated or fails its checksum: `checkpoint /out/ckpt-000000000100.gpck: truncated: …`. */
  checkpointCorrupt: (file: string, msg: string) => new GradPoolError('ERR_CHECKPOINT_CORRUPT', `checkpoint ${file}: ${msg}`),

  /**
   * A file system call failed: `cannot write checkpoint out/ckpt-000000000400.gpck: no space left on
   * device (ENOSPC)`. `action` says what was being done to which kind of file; `cause` is the errno error.
   */
  io: (action: string, file: string, cause: NodeJS.ErrnoException) =>
    new GradPoolError('ERR_IO', `cannot ${action} ${file}: ${errnoText(cause)}`, { cause }),

  /** Another process holds a lock: `output.dir: locked by pid 4242 on host a1 (since …): /out/gradpool.lock; …`. */
  locked: (field: string, file: string, holder: string) =>
    new GradPoolError('ERR_LOCKED', `${field}: locked by ${holder}: ${file}; wait for that trainer to finish or stop it (delete the lock only if no trainer is running)`),
} as const;

/**
 * "Trace once, replay" for vectorized chunks (what `jax.jit` does for jax-js). Most of a small model's
 * chunk time is JavaScript — the tfjs engine's tape, scopes and gradient functions, the vmap backend's
 * dispatch and the rules' logic — not the ~30 inner kernels it ends up running. The first chunk of a
 * given key (op, n, model, parameter shapes, training flag) runs the normal path while trace.ts
 * records every inner-backend operation; later chunks run the recorded kernels straight on the inner
 * backend with the new x, y and parameters: same kernels, same inputs, same order, so the same bits.
 *
 * Safety: a run that does anything a replay could not repeat is refused for its key for good (see
 * trace.ts). The FIRST replay of a key is checked: the normal path runs too, on the same chunk, and
 * every output byte is compared; a difference drops the trace for good and the normal results are
 * used. So a wrong trace never produces a result. A replay that fails (an output shape that differs
 * from the recording, a kernel error) also drops the trace and falls back to the normal path.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../../src/model/define.js';
import { isTraining } from '../../../src/model/mode.js';
import type { ChunkJob } from '../types.js';
import type { VmapBackend } from '../../../src/shared/batching/backend.js';
import { warnOnce } from '../../../src/shared/batching/errors.js';
import { fuse } from './fuse.js';
import { Recorder, type Trace } from './trace.js';
import { asList } from '../../../src/shared/batching/values.js';

/** Which executor op a trace is for: the kernels run differ between them. */
export type TraceKind = 'forward' | 'lossAndGrads' | 'sum' | 'sumClipped' | 'ghost';

type Entry = { vm: VmapBackend } & ({ state: 'refused'; why: string } | { state: 'pending' | 'verified'; trace: Trace; replays: number });

/**
 * A verified trace is checked again every this many replays. A pure model never differs; one that
 * reads mutable JavaScript state (a schedule kept in its module) would replay stale constants, and this
 * bounds how long that goes unnoticed: the trace is dropped with a warning naming the `replay` option.
 */
const RECHECK_EVERY = 64;

/** Keys kept per model (least recently used dropped first): chunk sizes differ at a batch's end. */
const MAX_KEYS = 8;
const cache = new WeakMap<ModelDef, Map<string, Entry>>();
/** On unless the pool says otherwise (`GradPool.create({ replay: false })`: each worker serves one pool). */
let enabled = true;

/** Turns replay on or off in this thread (the pool's `replay` option, tests); off, every chunk runs the normal path. */
export function setReplay(on: boolean): void {
  enabled = on;
}

const keyOf = (kind: TraceKind, job: ChunkJob) =>
  `${kind}|${job.n}|${isTraining()}|${job.params.map((p) => `${p.dtype}[${p.shape}]`).join(',')}`;

function lookup(kind: TraceKind, job: ChunkJob, vm: VmapBackend): { keys: Map<string, Entry>; key: string; entry?: Entry } {
  let keys = cache.get(job.model);
  if (!keys) cache.set(job.model, (keys = new Map()));
  const key = keyOf(kind, job);
  let entry = keys.get(key);
  if (entry && entry.vm !== vm) entry = undefined; // the inner backend was replaced: its kernels too
  if (entry) {
    keys.delete(key); // most recently used last
    keys.set(key, entry);
  }
  return { keys, key, entry };
}

function store(keys: Map<string, Entry>, key: string, entry: Entry): void {
  keys.delete(key);
  keys.set(key, entry);
  while (keys.size > MAX_KEYS) keys.delete(keys.keys().next().value!);
}

/**
 * Runs one chunk op: `normal()` fills `sinks` (the Float32Arrays the executor reads into) and returns
 * inner data it exports (the caller releases it), or a trace of it is replayed to the same effect.
 */
export function traced(kind: TraceKind, vm: VmapBackend, job: ChunkJob, sinks: Float32Array[], normal: () => tf.TensorInfo[]): tf.TensorInfo[] {
  if (!enabled) return normal();
  const { keys, key, entry } = lookup(kind, job, vm);
  if (!entry) return recordRun(keys, key, vm, job, sinks, normal);
  if (entry.state === 'refused') return normal();
  if (entry.state === 'verified') {
    if (++entry.replays % RECHECK_EVERY === 0) return selfCheck(keys, key, vm, entry.trace, job, sinks, normal, entry.replays);
    try {
      return replay(vm, entry.trace, job, sinks);
    } catch (e) {
      drop(keys, key, vm, `its replay failed (${(e as Error).message})`);
      return normal();
    }
  }
  return selfCheck(keys, key, vm, entry.trace, job, sinks, normal, 0);
}

function recordRun(keys: Map<string, Entry>, key: string, vm: VmapBackend, job: ChunkJob, sinks: Float32Array[], normal: () => tf.TensorInfo[]): tf.TensorInfo[] {
  const rec = new Recorder({ x: job.x, y: job.y, params: job.params, sinks });
  const restore = rec.install(vm);
  let exports: tf.TensorInfo[];
  try {
    exports = normal();
  } catch (e) {
    store(keys, key, { vm, state: 'refused', why: `an error (${(e as Error)?.message})` });
    throw e;
  } finally {
    restore();
  }
  const trace = rec.finish(exports, (steps, reads, ex) => fuse(steps, reads, ex, (k) => tf.getKernel(k, vm.innerName) !== undefined));
  store(keys, key, trace ? { vm, state: 'pending', trace, replays: 0 } : { vm, state: 'refused', why: rec.refused! });
  return exports;
}

/**
 * The first replay of a key (`after` 0), and every RECHECK_EVERY-th after it: replayed into scratch
 * sinks, then the normal path, compared byte for byte.
 */
function selfCheck(keys: Map<string, Entry>, key: string, vm: VmapBackend, trace: Trace, job: ChunkJob, sinks: Float32Array[], normal: () => tf.TensorInfo[], after: number): tf.TensorInfo[] {
  const scratch = sinks.map((s) => new Float32Array(s.length));
  let got: tf.TensorInfo[] | null = null;
  try {
    got = replay(vm, trace, job, scratch);
  } catch (e) {
    drop(keys, key, vm, `its replay failed (${(e as Error).message})`);
  }
  try {
    const want = normal();
    if (!got) return want;
    const same = scratch.every((s, i) => sameBytes(s, sinks[i]!)) && got.length === want.length && got.every((g, i) => sameData(vm, g, want[i]!));
    if (same) store(keys, key, { vm, state: 'verified', trace, replays: after });
    else
      drop(keys, key, vm, `${after === 0 ? 'its first replay' : `a replay after ${after}`} differed from the normal path: if the model reads mutable JavaScript state, create the pool with replay: false`);
    return want;
  } finally {
    got?.forEach((g) => vm.release(g.dataId));
  }
}

function drop(keys: Map<string, Entry>, key: string, vm: VmapBackend, why: string): void {
  store(keys, key, { vm, state: 'refused', why });
  warnOnce(`replay|${why}`, `gradpool: vectorized replay disabled for a chunk shape (${why}); using the normal path`);
}

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.compare(bytes(a), bytes(b)) === 0;

function sameData(vm: VmapBackend, a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const read = (t: tf.TensorInfo) => (vm.heapView(t) ?? vm.inner.readSync(t.dataId)) as tf.TypedArray;
  return a.dtype === b.dtype && tf.util.arraysEqual(a.shape, b.shape) && sameBytes(read(a), read(b));
}

/**
 * Runs `trace` on the inner backend with the chunk's x, y and parameters: each live step in order,
 * each slot freed after its last use, the reads written where the normal path writes them. Returns
 * the exports, one reference each for the caller. Everything else it made is freed, even on a throw.
 */
export function replay(vm: VmapBackend, trace: Trace, job: ChunkJob, sinks: Float32Array[]): tf.TensorInfo[] {
  const ids = new Array<tf.DataId | undefined>(trace.slots);
  const free = (s: number) => {
    if (ids[s] !== undefined) vm.release(ids[s]!);
    ids[s] = undefined;
  };
  try {
    trace.steps.forEach((st, i) => {
      if (!trace.live[i]) return;
      if (st.op === 'write') {
        const v = st.from === 'x' ? job.x : st.from === 'y' ? job.y! : st.from.slice(); // cpu keeps what it is given
        ids[st.slot] = vm.inner.write(v, st.shape, st.dtype);
      } else {
        const ins = st.inputs.map((inp) => inp && { dataId: inp.src >= 0 ? ids[inp.src]! : job.params[~inp.src]!.dataId, shape: inp.shape, dtype: inp.dtype });
        const inputs = (st.names ? Object.fromEntries(st.names.map((k, j) => [k, ins[j]])) : ins) as tf.NamedTensorInfoMap;
        const outs = asList(vm.callInner(st.kernel, inputs, st.attrs));
        st.outs.forEach((o, j) => (ids[o.slot] = outs[j]?.dataId));
        const bad = outs.length !== st.outs.length || st.outs.some((o, j) => o.dtype !== outs[j]!.dtype || !tf.util.arraysEqual(o.shape, outs[j]!.shape));
        if (bad) {
          outs.slice(st.outs.length).forEach((o) => vm.release(o.dataId));
          throw new Error(`kernel '${st.kernel}' gave outputs of other shapes than when traced`);
        }
      }
      trace.freeAfter[i]!.forEach(free);
    });
    for (const r of trace.reads) vm.copyOut({ info: { dataId: ids[r.slot]!, shape: r.shape, dtype: r.dtype }, batched: r.batched }, job.n, sinks[r.sink]!);
    return trace.exports.map((e) => {
      vm.inner.incRef(ids[e.slot]!);
      return { dataId: ids[e.slot]!, shape: e.shape, dtype: e.dtype };
    });
  } finally {
    for (let s = 0; s < ids.length; s++) free(s);
  }
}

/** Test hook: the state of `model`'s traces, by key. */
export function traceStates(model: ModelDef): Record<string, string> {
  return Object.fromEntries([...(cache.get(model) ?? new Map<string, Entry>())].map(([k, e]) => [k, e.state === 'refused' ? `refused: ${e.why}` : e.state]));
}

/** Test hook: the kernels each of `model`'s traces runs on replay (live steps, in order), by key. */
export function traceKernels(model: ModelDef): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, e] of cache.get(model) ?? []) if (e.state !== 'refused') out[k] = e.trace.steps.flatMap((st, i) => (st.op === 'kernel' && e.trace.live[i] ? [st.kernel] : []));
  return out;
}

/** Test hook: changes one recorded constant of each of `model`'s traces, so that its replay goes wrong. */
export function corruptTraces(model: ModelDef): void {
  for (const e of cache.get(model)?.values() ?? []) {
    if (e.state === 'refused') continue;
    const w = e.trace.steps.find((s) => s.op === 'write' && typeof s.from !== 'string' && s.from.length > 0);
    if (w?.op === 'write' && typeof w.from !== 'string') w.from[0] = w.from[0]! + 1;
  }
}

/** Test hook: forgets every trace of `model`. */
export function forgetTraces(model: ModelDef): void {
  cache.delete(model);
}

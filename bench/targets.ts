/**
 * The project's performance targets, measured as they are defined: default pool options, 1 and 2
 * worker threads, steady state, µs/sample medians.
 *
 * Per workload (seed, MLP, conv), in this order:
 * 1. First calls: a new 2-thread pool's first calls of the workload's target op, one by one. Reports
 *    the first 10 calls' total over 10 steady calls, and the warm-up length (calls until a rolling
 *    median of 5 is within 10% of the steady median, the median of the second half).
 * 2. The interleaved comparison: every contender of the workload (the pool at 1 and 2 threads, the
 *    pool's executor in-process with no pool, jax-js, tfjs model.fit), all alive at once, each given
 *    the measured warm-up length of untimed calls, then timed one call per round in a rotated order.
 *    Every ratio between two same-run contenders is taken round by round (the two calls of a pair ran
 *    seconds apart, under the same load) and reported as the median and IQR of those ratios.
 *    The pool-overhead pair (the 1-thread pool against its executor in-process) runs as a group of
 *    its own, right after.
 * 3. (conv) Memory at a large batch, then a growth check over many calls at a small batch.
 *
 * PyTorch cannot be run here: its figures are fixed constants from the issue's measurement
 * ({@link REFERENCE}), labelled as such wherever they appear. Everything else is measured in this run.
 * Reported, never asserted.
 */
import { readFileSync } from 'node:fs';
import { GradPool, sgd } from '../src/index.js';
import { initParams, type ModelDef } from '../src/model/define.js';
import { loadModel, modelHref } from '../src/model/load.js';
import type { ExecutorName } from '../src/shared/protocol.js';
import { target } from './analyze.js';
import { FitBaseline } from './baselines.js';
import { InProcessExecutor } from './inprocess.js';
import { JAX_BATCH_LOSSES, JAX_LOSSES, JaxBaseline, jaxDevice, loadJax } from './jax.js';
import { interleave, latencyStats, median, quantile } from './measure.js';
import { sig } from './report.js';
import type { ResolvedBenchOptions, TargetSizes } from './options.js';
import { LEARNING_RATE, poolOptions } from './suite.js';
import type { FirstCalls, MemoryResult, MemorySnapshot, RatioStats, TargetCell, TargetGroup, TargetResult, TargetsRun } from './types.js';
import { WORKLOADS, type Workload } from './workloads.js';

const PYTORCH_LABEL = "PyTorch 1.13 figure from the issue's measurement on this machine type, not same-run";

/** Fixed reference figures, µs/sample (PyTorch: best of 1–2 threads). Keys: `<workload>-<op>-<B>`. */
export const REFERENCE = {
  label: PYTORCH_LABEL,
  pytorch: { 'seed-psg-65536': 0.022, 'mlp-psg-1024': 227, 'mlp-step-128': 81, 'mlp-step-512': 77, 'conv-psg-128': 122, 'conv-step-128': 91 },
  // jax-js 0.1.25 figures from the issue, for a sanity check of the same-run jax-js cells.
  jax: { 'seed-psg-65536': 0.031, 'mlp-psg-1024': 3011, 'mlp-step-128': 355, 'mlp-step-512': 391 },
};

/** The thread counts the targets are defined at. */
const LO = 1;
const HI = 2;
/** Rolling-median window of the warm-up length. */
const WINDOW = 5;

type Op = TargetCell['op'];
const opKey = (op: Op) => (op === 'perSampleGrads' ? 'psg' : op);
const cellId = (w: string, op: Op, B: number, who: string) => `${w}-${opKey(op)}-${B}-${who}`;

/** A contender before it is measured. */
interface Spec extends Omit<TargetCell, 'latency' | 'usPerSample'> {
  fn: () => unknown;
}

/** Per-round ratios `a[r] / b[r]`. */
export function ratioStats(a: readonly number[], b: readonly number[]): RatioStats {
  const r = a.map((v, i) => v / b[i]!).sort((p, q) => p - q);
  return { median: median(r), q1: quantile(r, 0.25), q3: quantile(r, 0.75), min: r[0]!, max: r[r.length - 1]!, n: r.length };
}

/**
 * Warm-up length of a sequence of call times: the first call whose centred rolling median (of
 * `window` calls) is at most 10% above `steady`, the steady median (a warming pool is slower, never
 * faster, so only the upper side counts). Before the first full window, the leading calls above it
 * count. `calls.length` when no window qualifies.
 */
export function warmupLength(calls: readonly number[], steady: number, window = WINDOW): number {
  const half = Math.floor(window / 2);
  const fast = (v: number) => v <= 1.1 * steady;
  for (let k = 0; k + window <= calls.length; k++) {
    if (!fast(median(calls.slice(k, k + window)))) continue;
    if (k > 0) return k + half;
    let lead = 0;
    while (lead < half && !fast(calls[lead]!)) lead++;
    return lead;
  }
  return calls.length;
}

/** Times a new pool's first `n` calls of `fn` and derives the first-calls figures. */
async function firstCalls(w: Workload, op: FirstCalls['op'], batch: number, threads: number, createMs: number, fn: () => Promise<unknown>, n: number): Promise<FirstCalls> {
  const callsMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    callsMs.push(performance.now() - t0);
  }
  const steadyMedianMs = median(callsMs.slice(Math.floor(n / 2)));
  const first10Ms = callsMs.slice(0, 10).reduce((a, b) => a + b, 0);
  return { workload: w.name, op, batch, threads, createMs, callsMs, first10Ms, steadyMedianMs, ratio: first10Ms / (Math.min(10, n) * steadyMedianMs), warmupCalls: warmupLength(callsMs, steadyMedianMs), window: WINDOW };
}

async function createPool(o: ResolvedBenchOptions, w: Workload, threads: number): Promise<{ pool: GradPool; createMs: number }> {
  const t0 = performance.now();
  const pool = await GradPool.create(poolOptions(o, w, threads));
  return { pool, createMs: performance.now() - t0 };
}

/** Measures the specs interleaved. */
async function runGroup(w: Workload, name: string, specs: Spec[], rounds: number, warmupCalls: number, log: boolean): Promise<TargetGroup> {
  if (log) console.log(`targets: ${name}: ${specs.length} contenders, ${warmupCalls} warm-up calls each, ${rounds} interleaved rounds`);
  const samples = await interleave(specs.map((s) => ({ fn: s.fn })), rounds, warmupCalls);
  const cells = specs.map(({ fn: _fn, ...s }, i) => {
    const latency = latencyStats(samples[i]!);
    const cell: TargetCell = { ...s, latency, usPerSample: (latency.medianMs * 1000) / s.batch };
    if (log) console.log(`  ${cell.label.padEnd(56)} ${cell.usPerSample.toPrecision(3).padStart(9)} µs/sample (median of ${latency.samples})`);
    return cell;
  });
  return { name, workload: w.name, rounds, warmupCalls, cells, samples: Object.fromEntries(specs.map((s, i) => [s.id, samples[i]!])) };
}

const poolSpec = (w: Workload, op: Op, B: number, pool: GradPool, threads: number, fn: () => unknown): Spec => ({
  id: cellId(w.name, op, B, `pool-${threads}t`),
  label: `${w.name} ${op} B=${B}, pool ${threads}T`,
  workload: w.name,
  op,
  batch: B,
  method: 'pool',
  threads,
  executor: pool.executor,
  chunkSize: pool.chunkSizeFor(B),
  fn,
});

const mainSpec = (w: Workload, op: Op, B: number, method: 'inProcess' | 'jax' | 'fit', label: string, fn: () => unknown, info: { executor: string | null; chunkSize: number | null } = { executor: null, chunkSize: null }): Spec => ({
  id: cellId(w.name, op, B, method.toLowerCase()),
  label: `${w.name} ${op} B=${B}, ${label}`,
  workload: w.name,
  op,
  batch: B,
  method,
  threads: 1,
  ...info,
  fn,
});

/** The in-process executor with the pool's executor and chunk size for batch `B`. */
function inProcess(o: ResolvedBenchOptions, def: ModelDef, init: Float32Array, pool: GradPool, B: number): { ex: InProcessExecutor; info: { executor: string; chunkSize: number } } {
  const info = { executor: pool.executor, chunkSize: pool.chunkSizeFor(B) };
  return { ex: new InProcessExecutor(def, init, info.executor as ExecutorName, o.backend, info.chunkSize, o.seed), info };
}

interface Ctx {
  o: ResolvedBenchOptions;
  sizes: TargetSizes;
  jax: Awaited<ReturnType<typeof loadJax>>;
  run: TargetsRun;
}

/** First calls, then the interleaved comparison, of one workload. */
async function workload(ctx: Ctx, name: 'seed' | 'mlp' | 'conv'): Promise<void> {
  const { o, sizes, jax, run } = ctx;
  const w = WORKLOADS[name];
  const def = await loadModel(modelHref(w.model));
  const init = initParams(def, o.seed);
  const optimizer = sgd({ learningRate: LEARNING_RATE });
  const cleanup: (() => unknown)[] = [];
  try {
    // The first calls' op is the workload's headline target op.
    const B0 = name === 'seed' ? sizes.seedBatch : name === 'mlp' ? sizes.mlpBatches[0] : sizes.convBatch;
    const op0: FirstCalls['op'] = name === 'seed' ? 'perSampleGrads' : 'step';
    const d0 = w.data(B0, o.seed + B0);
    const { pool: p2, createMs } = await createPool(o, w, HI);
    cleanup.push(() => p2.close());
    const fc = await firstCalls(w, op0, B0, HI, createMs, () => (op0 === 'step' ? p2.step(d0.x, d0.y, { optimizer }) : p2.perSampleGrads(d0.x, d0.y)), name === 'seed' ? sizes.firstCalls * 3 : sizes.firstCalls);
    run.firstCalls.push(fc);
    if (o.log) console.log(`targets: ${name}: first 10 calls ${fc.first10Ms.toFixed(1)} ms = ${fc.ratio.toFixed(2)}× 10 steady calls; steady after ${fc.warmupCalls} calls`);
    const { pool: p1 } = await createPool(o, w, LO);
    cleanup.push(() => p1.close());
    const pools = [
      { pool: p1, threads: LO },
      { pool: p2, threads: HI },
    ];
    const specs: Spec[] = [];
    const both = (op: Op, B: number, call: (p: GradPool) => unknown) => pools.forEach(({ pool, threads }) => specs.push(poolSpec(w, op, B, pool, threads, () => call(pool))));
    const jaxOf = () => {
      if (!jax || name === 'conv') return null;
      const jb = new JaxBaseline(jax, def, init, JAX_LOSSES[name], JAX_BATCH_LOSSES[name], LEARNING_RATE);
      cleanup.push(() => jb.dispose());
      return jb;
    };
    const jb = jaxOf();
    /**
     * The pool-overhead pair, measured in a group of its own: the 1-thread pool against its executor
     * in-process (same executor and chunk size), alternating. Kept apart from the other contenders
     * because they leave garbage on the main thread (copied results), whose collection would land on
     * whichever main-thread contender runs next — the in-process side, not the pool's worker.
     */
    const overhead: Spec[] = [];
    const addOverhead = (op: Op, B: number, pool: (p: GradPool) => unknown, call: (ex: InProcessExecutor) => unknown) => {
      const { ex, info } = inProcess(o, def, init, p1, B);
      cleanup.push(() => ex.dispose());
      overhead.push(
        { ...poolSpec(w, op, B, p1, LO, () => pool(p1)), id: cellId(w.name, op, B, `overhead-pool-${LO}t`), label: `${w.name} ${op} B=${B}, pool ${LO}T (overhead pair)` },
        mainSpec(w, op, B, 'inProcess', `${info.executor} executor in-process, no pool`, () => call(ex), info),
      );
    };
    const psgWithOverhead = (B: number, x: Float32Array, y: Float32Array) => {
      both('perSampleGrads', B, (p) => p.perSampleGrads(x, y));
      addOverhead('perSampleGrads', B, (p) => p.perSampleGrads(x, y), (ex) => ex.perSampleGrads(x, y, B));
    };
    const JAX = 'jax-js (main thread)';
    if (name === 'seed') {
      const B = sizes.seedBatch;
      const { x, y } = d0;
      psgWithOverhead(B, x, y);
      if (jb) specs.push(mainSpec(w, 'perSampleGrads', B, 'jax', JAX, () => jb.perSampleGrads(x, y, B)));
      specs.push(poolSpec(w, 'step', B, p2, HI, () => p2.step(x, y, { optimizer })));
      if (jb) specs.push(mainSpec(w, 'step', B, 'jax', JAX, () => jb.step(x, y, B)));
    } else if (name === 'mlp') {
      const [b1, b2] = sizes.mlpBatches;
      const Bmax = Math.max(b1, b2, sizes.mlpPsgBatch);
      const { x, y } = w.data(Bmax, o.seed + Bmax);
      const part = (B: number) => ({ x: x.subarray(0, B * def.inputSize), y: y.subarray(0, B * def.targetSize) });
      for (const B of [b1, b2]) {
        const d = part(B);
        both('step', B, (p) => p.step(d.x, d.y, { optimizer }));
        if (jb) specs.push(mainSpec(w, 'step', B, 'jax', JAX, () => jb.step(d.x, d.y, B)));
      }
      const g = part(b2);
      addOverhead('gradient', b2, (p) => p.gradient(g.x, g.y), (ex) => ex.gradient(g.x, g.y, b2));
      const P = sizes.mlpPsgBatch;
      const ps = part(P);
      specs.push(poolSpec(w, 'perSampleGrads', P, p2, HI, () => p2.perSampleGrads(ps.x, ps.y)));
      if (jb) specs.push(mainSpec(w, 'perSampleGrads', P, 'jax', JAX, () => jb.perSampleGrads(ps.x, ps.y, P)));
    } else {
      const B = sizes.convBatch;
      const { x, y } = d0;
      psgWithOverhead(B, x, y);
      both('step', B, (p) => p.step(x, y, { optimizer }));
      const fit = new FitBaseline(def, w, init, LEARNING_RATE);
      cleanup.push(() => fit.dispose());
      specs.push(mainSpec(w, 'step', B, 'fit', `tfjs model.fit (main thread, ${o.backend})`, () => fit.step(x, y, B)));
    }
    // At least 2: jax-js compiles on its first call, model.fit builds its graph.
    let warm = Math.max(2, fc.warmupCalls);
    if (o.quick && warm > sizes.quickWarmupCap) {
      run.notes.push(`${name}: quick run: warm-up capped at ${sizes.quickWarmupCap} calls (measured ${fc.warmupCalls})`);
      warm = sizes.quickWarmupCap;
    }
    // The seed model's calls take milliseconds: three times the rounds cost little.
    const rounds = name === 'seed' ? sizes.rounds * 3 : sizes.rounds;
    run.groups.push(await runGroup(w, name, specs, rounds, warm, o.log));
    run.groups.push(await runGroup(w, `${name}-overhead`, overhead, rounds * 2, warm, o.log));
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
}

const rss = () => process.memoryUsage().rss;

function snapshot(pool: GradPool, call: number): MemorySnapshot {
  const s = pool.stats();
  return { call, sharedBytes: s.sharedBytes, sharedAllocations: s.sharedAllocations, workerTensors: s.workers.map((w) => w.numTensors), rssBytes: rss() };
}

/** Conv per-sample gradients: memory at `memoryBatch`, then `growthCalls` calls at `growthBatch`. */
async function convMemory(o: ResolvedBenchOptions, sizes: TargetSizes): Promise<MemoryResult> {
  const w = WORKLOADS.conv;
  const def = await loadModel(modelHref(w.model));
  const rssBeforePoolBytes = rss();
  const { pool } = await createPool(o, w, HI);
  try {
    const small = w.data(sizes.growthBatch, o.seed + 1);
    for (let i = 0; i < 5; i++) await pool.perSampleGrads(small.x, small.y);
    const rssWarmBytes = rss();
    const sharedBytesWarm = pool.stats().sharedBytes;
    const B = sizes.memoryBatch;
    const { x, y } = w.data(B, o.seed + B);
    let held = await pool.perSampleGrads(x, y);
    const rssAfterBytes = rss();
    const sharedBytesAfter = pool.stats().sharedBytes;
    let rssPeakBytes = rssAfterBytes;
    for (let i = 0; i < 2; i++) {
      held = await pool.perSampleGrads(x, y);
      rssPeakBytes = Math.max(rssPeakBytes, rss());
    }
    const outputBytes = 4 * (held.losses.data.length + Object.values(held.grads).reduce((a, g) => a + g.data.length, 0));
    if (o.log) console.log(`targets: conv memory: B=${B} output ${(outputBytes / 2 ** 20).toFixed(1)} MiB, RSS +${((rssAfterBytes - rssWarmBytes) / 2 ** 20).toFixed(1)} MiB; growth check: ${sizes.growthCalls} calls at B=${sizes.growthBatch}`);
    const t0 = performance.now();
    const warmup = Math.min(100, Math.floor(sizes.growthCalls / 10));
    let first: MemorySnapshot | null = null;
    for (let i = 1; i <= sizes.growthCalls; i++) {
      await pool.perSampleGrads(small.x, small.y);
      if (i === warmup) first = snapshot(pool, i);
    }
    const last = snapshot(pool, sizes.growthCalls);
    return {
      batch: B,
      threads: HI,
      outputBytes,
      inputBytes: 4 * (x.length + y.length),
      rssBeforePoolBytes,
      rssWarmBytes,
      rssAfterBytes,
      rssPeakBytes,
      sharedBytesWarm,
      sharedBytesAfter,
      growth: { batch: sizes.growthBatch, calls: sizes.growthCalls, durationMs: performance.now() - t0, first: first ?? last, last },
    };
  } finally {
    await pool.close();
  }
}

function jaxVersion(): string {
  try {
    const pkg = new URL('../package.json', import.meta.resolve('@jax-js/jax'));
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Runs every measurement behind the targets (workloads not requested are skipped). */
export async function runTargets(o: ResolvedBenchOptions, sizes: TargetSizes): Promise<TargetsRun> {
  const jax = await loadJax();
  const run: TargetsRun = {
    reference: REFERENCE,
    jax: jax ? { version: jaxVersion(), ...jaxDevice() } : null,
    firstCalls: [],
    groups: [],
    memory: null,
    notes: jax ? [] : ['@jax-js/jax is not installed (a devDependency): no jax-js cells'],
  };
  const ctx: Ctx = { o, sizes, jax, run };
  for (const name of ['seed', 'mlp', 'conv'] as const) if (o.workloads.includes(name)) await workload(ctx, name);
  if (o.workloads.includes('conv')) run.memory = await convMemory(o, sizes);
  return run;
}

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const us = sig;

/** The targets, judged on a {@link TargetsRun}. Ratios of same-run cells are per-round medians. */
export function evaluateRunTargets(run: TargetsRun | null, sizes: TargetSizes): TargetResult[] {
  const cells = new Map(run?.groups.flatMap((g) => g.cells.map((c) => [c.id, { c, s: g.samples[c.id]! }] as const)) ?? []);
  const out: TargetResult[] = [];
  const missing = 'not measured: needs the workload (and jax-js for jax-js targets)';
  /** "At least `threshold`× as fast as a fixed reference figure": ref µs/sample over ours. */
  const vsFixed = (id: string, what: string, cell: string, refKey: keyof typeof REFERENCE.pytorch, threshold: number) => {
    const x = cells.get(cell)?.c;
    const ref = REFERENCE.pytorch[refKey];
    if (!x) return out.push(target(id, what, null, threshold, false, missing));
    const l = x.latency;
    const perUs = (ms: number) => (ms * 1000) / x.batch;
    const t = target(id, what, ref / x.usPerSample, threshold, false);
    t.range = [ref / perUs(l.q3Ms ?? l.maxMs), ref / perUs(l.q1Ms ?? l.minMs)];
    t.detail = `gradpool ${us(x.usPerSample)} µs/sample (IQR ${us(perUs(l.q1Ms ?? l.minMs))}–${us(perUs(l.q3Ms ?? l.maxMs))}) vs PyTorch ${ref} µs/sample (${PYTORCH_LABEL})`;
    return out.push(t);
  };
  /** A same-run ratio `a / b` of times, round by round. */
  const paired = (id: string, what: string, a: string, b: string, threshold: number, lowerIsBetter: boolean, names: [string, string]) => {
    const [x, y] = [cells.get(a), cells.get(b)];
    if (!x || !y) return out.push(target(id, what, null, threshold, lowerIsBetter, missing));
    const r = ratioStats(x.s, y.s);
    const t = target(id, what, r.median, threshold, lowerIsBetter);
    t.range = [r.q1, r.q3];
    t.detail = `${names[0]} ${us(x.c.usPerSample)}, ${names[1]} ${us(y.c.usPerSample)} µs/sample (medians); ratio per round: median ${r.median.toFixed(3)}, IQR ${r.q1.toFixed(3)}–${r.q3.toFixed(3)}, min–max ${r.min.toFixed(3)}–${r.max.toFixed(3)}, n=${r.n}`;
    return out.push(t);
  };
  const { seedBatch: S, convBatch: C } = sizes;
  const [M1, M2] = sizes.mlpBatches;
  vsFixed('seed-psg-vs-pytorch', `seed perSampleGrads B=${S}, ${HI} threads: ≥ 1× PyTorch vmap(grad) (speed ratio)`, cellId('seed', 'perSampleGrads', S, `pool-${HI}t`), 'seed-psg-65536', 1);
  paired('seed-psg-vs-jax', `seed perSampleGrads B=${S}, ${HI} threads: ≥ 1× jax-js jit(vmap(grad)), same run (jax-js time / pool time)`, cellId('seed', 'perSampleGrads', S, 'jax'), cellId('seed', 'perSampleGrads', S, `pool-${HI}t`), 1, false, ['jax-js', 'pool']);
  vsFixed('conv-psg-vs-pytorch', `conv perSampleGrads B=${C}, ${HI} threads: ≥ 1× PyTorch vmap(grad)`, cellId('conv', 'perSampleGrads', C, `pool-${HI}t`), 'conv-psg-128', 1);
  vsFixed('conv-step-vs-pytorch', `conv training step B=${C}, ${HI} threads: ≥ 1× PyTorch batched autograd`, cellId('conv', 'step', C, `pool-${HI}t`), 'conv-step-128', 1);
  paired('conv-step-vs-fit', `conv training step B=${C}, ${HI} threads: ≥ 2× tfjs model.fit, same backend, same run (fit time / pool time)`, cellId('conv', 'step', C, 'fit'), cellId('conv', 'step', C, `pool-${HI}t`), 2, false, ['model.fit', 'pool']);
  vsFixed('mlp-step-128-vs-pytorch', `MLP training step B=${M1}, ${HI} threads: ≥ 1.5× PyTorch`, cellId('mlp', 'step', M1, `pool-${HI}t`), 'mlp-step-128', 1.5);
  vsFixed('mlp-step-512-vs-pytorch', `MLP training step B=${M2}, ${HI} threads: ≥ 2× PyTorch`, cellId('mlp', 'step', M2, `pool-${HI}t`), 'mlp-step-512', 2);
  const scaling = (id: string, what: string, w: string, op: Op, B: number) =>
    paired(id, `${what}: ${LO}→${HI} threads ≥ 1.85× (time at ${LO} / time at ${HI})`, cellId(w, op, B, `pool-${LO}t`), cellId(w, op, B, `pool-${HI}t`), 1.85, false, [`${LO}T`, `${HI}T`]);
  scaling('mlp-step-512-scaling', `MLP training step B=${M2}`, 'mlp', 'step', M2);
  scaling('conv-step-scaling', `conv training step B=${C}`, 'conv', 'step', C);
  scaling('seed-psg-scaling', `seed perSampleGrads B=${S}`, 'seed', 'perSampleGrads', S);
  const overhead = (id: string, what: string, w: string, op: Op, B: number, like: string) =>
    paired(id, `${what}: pool at ${LO} thread within 10% of its executor in-process, no pool (${like}; time ratio ≤ 1.10)`, cellId(w, op, B, `overhead-pool-${LO}t`), cellId(w, op, B, 'inprocess'), 1.1, true, ['pool', 'in-process']);
  overhead('pool-overhead-seed-psg', `seed perSampleGrads B=${S}`, 'seed', 'perSampleGrads', S, 'per-sample results in fresh arrays both ways');
  overhead('pool-overhead-mlp-gradient', `MLP mean gradient B=${M2}`, 'mlp', 'gradient', M2, 'pool.gradient vs sumGrads + chunk-ordered reduction');
  overhead('pool-overhead-conv-psg', `conv perSampleGrads B=${C}`, 'conv', 'perSampleGrads', C, 'per-sample results in fresh arrays both ways');
  for (const name of ['seed', 'mlp', 'conv']) {
    const fc = run?.firstCalls.find((f) => f.workload === name);
    const what = `${name} first calls (${fc ? `${fc.op} B=${fc.batch}, ${fc.threads} threads` : 'new pool'}): first 10 calls ≤ 3× 10 steady calls`;
    if (!fc) {
      out.push(target(`first-calls-${name}`, what, null, 3, true, missing));
      continue;
    }
    const t = target(`first-calls-${name}`, what, fc.ratio, 3, true);
    t.detail = `first 10 calls ${fc.first10Ms.toFixed(1)} ms, steady ${fc.steadyMedianMs.toFixed(2)} ms/call (median of calls ${Math.floor(fc.callsMs.length / 2) + 1}–${fc.callsMs.length}); steady state after ${fc.warmupCalls} calls (the first rolling median of ${fc.window} calls within 10% of the steady median); pool creation ${fc.createMs.toFixed(0)} ms, not counted`;
    out.push(t);
  }
  const m = run?.memory;
  const memWhat = `conv perSampleGrads B=${m?.batch ?? sizes.memoryBatch}, ${HI} threads: memory ≤ 1.5× the output bytes plus the pool's fixed overhead (bytes held by the call / output bytes)`;
  const growthWhat = `conv perSampleGrads: no growth over ${m?.growth.calls ?? sizes.growthCalls} calls at B=${m?.growth.batch ?? sizes.growthBatch} (counters that grew: shared bytes, shared allocations, each worker's tensors)`;
  if (!m) {
    out.push(target('conv-memory', memWhat, null, 1.5, true, missing), target('conv-memory-growth', growthWhat, null, 0, true, missing));
  } else {
    // Two accounts of what the call holds, judged on the larger: the pool's shared memory it added plus
    // the result handed back (exact, but blind to the workers' wasm heaps), and the process's RSS
    // growth (sees everything, but freed pages of earlier garbage can be reused, so it can read low).
    const accounted = m.sharedBytesAfter - m.sharedBytesWarm + m.outputBytes;
    const rssGrowth = m.rssAfterBytes - m.rssWarmBytes;
    const t = target('conv-memory', memWhat, Math.max(accounted, rssGrowth) / m.outputBytes, 1.5, true);
    t.detail = `output ${MiB(m.outputBytes)} (inputs ${MiB(m.inputBytes)}); held by the call: shared memory added (pool.stats().sharedBytes ${MiB(m.sharedBytesWarm)} → ${MiB(m.sharedBytesAfter)}) + the returned result = ${MiB(accounted)} (${(accounted / m.outputBytes).toFixed(2)}×); main-process RSS (workers are its threads) +${MiB(rssGrowth)} (${(rssGrowth / m.outputBytes).toFixed(2)}×) with the result held, peak over 3 calls +${MiB(m.rssPeakBytes - m.rssWarmBytes)}; judged on the larger; fixed overhead (stated, not counted): the pool warm at B=${m.growth.batch}, RSS +${MiB(m.rssWarmBytes - m.rssBeforePoolBytes)} over before it existed`;
    out.push(t);
    const { first: a, last: b } = m.growth;
    const grew = [b.sharedBytes > a.sharedBytes, b.sharedAllocations > a.sharedAllocations, ...b.workerTensors.map((n, i) => n > (a.workerTensors[i] ?? n))].filter(Boolean).length;
    const g = target('conv-memory-growth', growthWhat, grew, 0, true);
    g.detail = `from call ${a.call} to ${b.call} (${(m.growth.durationMs / 1000).toFixed(1)} s): sharedBytes ${a.sharedBytes} → ${b.sharedBytes}, sharedAllocations ${a.sharedAllocations} → ${b.sharedAllocations}, worker tensors [${a.workerTensors.join(', ')}] → [${b.workerTensors.join(', ')}], RSS ${MiB(a.rssBytes)} → ${MiB(b.rssBytes)} (reported, not judged)`;
    out.push(g);
  }
  return out;
}

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
 *    the measured warm-up length of untimed calls, then timed one call per round in a shuffled order.
 *    Every ratio between two same-run contenders is taken round by round (the two calls of a pair ran
 *    seconds apart, under the same load) and reported as the median and IQR of those ratios.
 *    The pool-overhead pair (the 1-thread pool against its executor in-process) runs as a group of
 *    its own, right after; so do the MLP's per-sample gradients at B=1024 (pool and jax-js), whose
 *    calls each move hundreds of MB.
 * 3. (conv) Memory at a large batch, then a growth check over many calls at a small batch (memory.ts).
 *
 * PyTorch runs as a same-run contender where a Python with torch is at hand (bench/pytorch.ts, at 1
 * and 2 threads, in its own processes); the issue's fixed figures ({@link REFERENCE}) are the fallback
 * and are reported beside it, labelled as such. Everything else is measured in this run. Reported,
 * never asserted.
 */
import { GradPool, sgd } from '../src/index.js';
import { initParams, type ModelDef } from '../src/model/define.js';
import { loadModel, modelHref } from '../src/model/load.js';
import type { ExecutorName } from '../src/shared/protocol.js';
import { FitBaseline } from './baselines.js';
import { InProcessExecutor } from './inprocess.js';
import { JAX_BATCH_LOSSES, JAX_LOSSES, JaxBaseline, jaxDevice, jaxVersion, loadJax } from './jax.js';
import { torchContenders, TorchPeer } from './pytorch.js';
import { machineCeiling } from './ceiling.js';
import { convMemory } from './memory.js';
import { ceilingText, cellId, HI, LO, REFERENCE, type Op } from './target-checks.js';
import { interleave, latencyStats, median } from './measure.js';
import type { ResolvedBenchOptions, TargetSizes } from './options.js';
import { LEARNING_RATE, poolOptions } from './suite.js';
import type { FirstCalls, TargetCell, TargetGroup, TargetsRun } from './types.js';
import { WORKLOADS, type Workload } from './workloads.js';

/**
 * Per-sample results as views of the pool's reused shared buffers, valid until the next call: how the
 * issue measures ("default options and `{ copy: false }`"), as torch.func hands back its tensors
 * without a second copy. Every other option is the default.
 */
const VIEWS = { copy: false } as const;

/** Rolling-median window of the warm-up length. */
const WINDOW = 5;

/** A contender before it is measured. */
interface Spec extends Omit<TargetCell, 'latency' | 'usPerSample'> {
  fn: () => unknown;
  /** For a contender timed in its own process (PyTorch): its call, resolving with that time in ms. */
  timed?: () => Promise<number>;
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
  const samples = await interleave(specs.map((s) => ({ fn: s.fn, timed: s.timed })), rounds, warmupCalls);
  const cells = specs.map(({ fn: _fn, timed: _timed, ...s }, i) => {
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
  /** PyTorch peers, one per thread count (none where torch is not available). */
  torch: TorchPeer[];
  run: TargetsRun;
}

/** First calls, then the interleaved comparison, of one workload. */
async function workload(ctx: Ctx, name: 'seed' | 'mlp' | 'conv'): Promise<void> {
  const { o, sizes, jax, run } = ctx;
  const torch = (op: 'perSampleGrads' | 'step', B: number, x: Float32Array, y: Float32Array) => torchContenders(ctx.torch, w, def, init, op, B, x, y);
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
    const fc = await firstCalls(w, op0, B0, HI, createMs, () => (op0 === 'step' ? p2.step(d0.x, d0.y, { optimizer }) : p2.perSampleGrads(d0.x, d0.y, VIEWS)), name === 'seed' ? sizes.firstCalls * 3 : sizes.firstCalls);
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
    /** Contenders whose calls move hundreds of MB, measured apart from the rest (see the MLP). */
    const large: Spec[] = [];
    const addOverhead = (op: Op, B: number, pool: (p: GradPool) => unknown, call: (ex: InProcessExecutor) => unknown) => {
      const { ex, info } = inProcess(o, def, init, p1, B);
      cleanup.push(() => ex.dispose());
      overhead.push(
        { ...poolSpec(w, op, B, p1, LO, () => pool(p1)), id: cellId(w.name, op, B, `overhead-pool-${LO}t`), label: `${w.name} ${op} B=${B}, pool ${LO}T (overhead pair)` },
        mainSpec(w, op, B, 'inProcess', `${info.executor} executor in-process, no pool`, () => call(ex), info),
      );
    };
    const psgWithOverhead = (B: number, x: Float32Array, y: Float32Array) => {
      both('perSampleGrads', B, (p) => p.perSampleGrads(x, y, VIEWS));
      addOverhead('perSampleGrads', B, (p) => p.perSampleGrads(x, y, VIEWS), (ex) => ex.perSampleGrads(x, y, B));
    };
    const JAX = 'jax-js (main thread)';
    if (name === 'seed') {
      const B = sizes.seedBatch;
      const { x, y } = d0;
      psgWithOverhead(B, x, y);
      if (jb) specs.push(mainSpec(w, 'perSampleGrads', B, 'jax', JAX, () => jb.perSampleGrads(x, y, B)));
      specs.push(...(await torch('perSampleGrads', B, x, y)));
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
        specs.push(...(await torch('step', B, d.x, d.y)));
      }
      const g = part(b2);
      addOverhead('gradient', b2, (p) => p.gradient(g.x, g.y), (ex) => ex.gradient(g.x, g.y, b2));
      const P = sizes.mlpPsgBatch;
      const ps = part(P);
      // A group of its own: each call writes 400+ MB of per-sample gradients (jax-js allocates as
      // much on the main thread), which left every step contender after it in the round measured on
      // cold caches and a collecting main thread (steps 2–3× their time alone).
      large.push(poolSpec(w, 'perSampleGrads', P, p2, HI, () => p2.perSampleGrads(ps.x, ps.y, VIEWS)));
      if (jb) large.push(mainSpec(w, 'perSampleGrads', P, 'jax', JAX, () => jb.perSampleGrads(ps.x, ps.y, P)));
    } else {
      const B = sizes.convBatch;
      const { x, y } = d0;
      psgWithOverhead(B, x, y);
      both('step', B, (p) => p.step(x, y, { optimizer }));
      specs.push(...(await torch('perSampleGrads', B, x, y)), ...(await torch('step', B, x, y)));
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
    // The seed model's calls take milliseconds, and the conv net's ~10 ms (model.fit's ~35): three
    // times the rounds cost seconds, and 15 rounds left the conv step's verdict within its IQR of the line.
    const rounds = name === 'seed' || name === 'conv' ? sizes.rounds * 3 : sizes.rounds;
    run.groups.push(await runGroup(w, name, specs, rounds, warm, o.log));
    run.groups.push(await runGroup(w, `${name}-overhead`, overhead, rounds * 2, warm, o.log));
    if (large.length > 0) run.groups.push(await runGroup(w, `${name}-large`, large, rounds, warm, o.log));
  } finally {
    for (const c of cleanup.reverse()) await c();
  }
}

/** Runs every measurement behind the targets (workloads not requested are skipped). */
export async function runTargets(o: ResolvedBenchOptions, sizes: TargetSizes): Promise<TargetsRun> {
  const jax = await loadJax();
  const torch: TorchPeer[] = [];
  const notes: string[] = jax ? [] : ['@jax-js/jax is not installed (a devDependency): no jax-js cells'];
  let torchVersion: string | null = null;
  for (const threads of [LO, HI]) {
    const started = await TorchPeer.start(threads, LEARNING_RATE);
    if ('why' in started) {
      notes.push(`${started.why}: the PyTorch targets use the issue's fixed figures`);
      break;
    }
    torch.push(started.peer);
    torchVersion = started.version;
  }
  const run: TargetsRun = {
    reference: REFERENCE,
    jax: jax ? { version: jaxVersion(), ...jaxDevice() } : null,
    pytorch: torch.length === 2 ? { version: torchVersion!, threads: torch.map((t) => t.threads) } : null,
    firstCalls: [],
    groups: [],
    memory: null,
    notes,
  };
  if (torch.length === 1) await torch.pop()!.close(); // both thread counts or none
  try {
    run.ceiling = await machineCeiling(o.backend, HI, sizes.rounds * 2);
    if (o.log) console.log(`targets: machine ceiling, ${HI} plain threads over one: ${ceilingText(run.ceiling)}`);
    const ctx: Ctx = { o, sizes, jax, torch, run };
    for (const name of ['seed', 'mlp', 'conv'] as const) if (o.workloads.includes(name)) await workload(ctx, name);
  } finally {
    for (const t of torch) {
      notes.push(t.settling());
      await t.close();
    }
  }
  if (o.workloads.includes('conv')) run.memory = await convMemory(o, sizes, async () => (await createPool(o, WORKLOADS.conv, HI)).pool, HI);
  return run;
}

/**
 * The memory target: what conv per-sample gradients hold at a large batch (shared memory added plus
 * the returned result, and the process's RSS: the workers are its threads), and whether anything
 * grows over many calls at a small batch. Reported, never asserted.
 */
import type { GradPool } from '../src/index.js';
import type { ResolvedBenchOptions, TargetSizes } from './options.js';
import type { MemoryResult, MemorySnapshot } from './types.js';
import { WORKLOADS } from './workloads.js';

/** The result as views of the pool's shared buffers (no second copy), as the other per-sample cells take it. */
const VIEWS = { copy: false } as const;

const rss = () => process.memoryUsage().rss;
/** The workers' wasm heaps together: each holds its chunks' working set, and only grows. */
const heaps = (pool: GradPool) => pool.stats().workers.reduce((a, w) => a + (w.wasmHeapBytes ?? 0), 0);

function snapshot(pool: GradPool, call: number): MemorySnapshot {
  const s = pool.stats();
  return { call, sharedBytes: s.sharedBytes, sharedAllocations: s.sharedAllocations, workerTensors: s.workers.map((w) => w.numTensors), rssBytes: rss() };
}

/**
 * Conv per-sample gradients on a pool from `create` (of `threads` threads): memory at `memoryBatch`,
 * then `growthCalls` calls at `growthBatch`.
 */
export async function convMemory(o: ResolvedBenchOptions, sizes: TargetSizes, create: () => Promise<GradPool>, threads: number): Promise<MemoryResult> {
  const w = WORKLOADS.conv;
  const rssBeforePoolBytes = rss();
  const pool = await create();
  try {
    const small = w.data(sizes.growthBatch, o.seed + 1);
    for (let i = 0; i < 5; i++) await pool.perSampleGrads(small.x, small.y, VIEWS);
    const B = sizes.memoryBatch;
    // The fixed overhead: every worker's wasm heap grown to one chunk's working set, at the chunk size
    // the large batch uses (one chunk per worker), before the large batch's own memory is counted.
    const chunkSize = pool.chunkSizeFor(B);
    const warmBatch = Math.min(B, chunkSize * threads);
    const warm = w.data(warmBatch, o.seed + 2);
    for (let i = 0; i < 3; i++) await pool.perSampleGrads(warm.x, warm.y, VIEWS);
    const rssWarmBytes = rss();
    const sharedBytesWarm = pool.stats().sharedBytes;
    const heapWarmBytes = heaps(pool);
    const { x, y } = w.data(B, o.seed + B);
    let held = await pool.perSampleGrads(x, y, VIEWS);
    const rssAfterBytes = rss();
    const sharedBytesAfter = pool.stats().sharedBytes;
    const heapAfterBytes = heaps(pool);
    let rssPeakBytes = rssAfterBytes;
    for (let i = 0; i < 2; i++) {
      held = await pool.perSampleGrads(x, y, VIEWS);
      rssPeakBytes = Math.max(rssPeakBytes, rss());
    }
    const outputBytes = 4 * (held.losses.data.length + Object.values(held.grads).reduce((a, g) => a + g.data.length, 0));
    if (o.log) console.log(`targets: conv memory: B=${B} output ${(outputBytes / 2 ** 20).toFixed(1)} MiB, RSS +${((rssAfterBytes - rssWarmBytes) / 2 ** 20).toFixed(1)} MiB; growth check: ${sizes.growthCalls} calls at B=${sizes.growthBatch}`);
    const t0 = performance.now();
    const warmup = Math.min(100, Math.floor(sizes.growthCalls / 10));
    let first: MemorySnapshot | null = null;
    for (let i = 1; i <= sizes.growthCalls; i++) {
      await pool.perSampleGrads(small.x, small.y, VIEWS);
      if (i === warmup) first = snapshot(pool, i);
    }
    const last = snapshot(pool, sizes.growthCalls);
    return {
      batch: B,
      threads,
      outputBytes,
      inputBytes: 4 * (x.length + y.length),
      rssBeforePoolBytes,
      rssWarmBytes,
      warmBatch,
      chunkSize,
      heapWarmBytes,
      heapAfterBytes,
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

// The same-run PyTorch peer's plumbing: a self-timed contender's samples are the times it reports,
// the PyTorch targets are judged on same-run cells (the faster thread count, round by round) when a
// run has them and on the fixed figure otherwise, and a missing interpreter is named.
// (The peer itself needs torch, which a fresh machine lacks; its loss is checked against tfjs's at
// every setup in a bench run instead: bench/pytorch.ts.)
import assert from 'node:assert/strict';
import { interleave } from '../../bench/measure.js';
import { TorchPeer } from '../../bench/pytorch.js';
import { evaluateRunTargets, REFERENCE } from '../../bench/target-checks.js';
import { targetSizes } from '../../bench/options.js';
import { latencyStats } from '../../bench/measure.js';
import type { TargetCell, TargetsRun } from '../../bench/types.js';

const cell = (id: string, method: TargetCell['method'], threads: number, samples: number[], batch = 65536): [TargetCell, number[]] => {
  const latency = latencyStats(samples);
  return [{ id, label: id, workload: 'seed', op: 'perSampleGrads', batch, method, threads, executor: null, chunkSize: null, latency, usPerSample: (latency.medianMs * 1000) / batch }, samples];
};

function runWith(cells: [TargetCell, number[]][]): TargetsRun {
  return {
    reference: REFERENCE,
    jax: null,
    firstCalls: [],
    groups: [{ name: 'seed', workload: 'seed', rounds: 3, warmupCalls: 0, cells: cells.map((c) => c[0]), samples: Object.fromEntries(cells.map(([c, s]) => [c.id, s])) }],
    memory: null,
    notes: [],
  };
}

describe('bench: PyTorch as a same-run peer', () => {
  it('a self-timed contender contributes the times it reports, not the wall time around it', async () => {
    const reported = [7, 8, 9];
    let [warm, timed] = [0, 0];
    const samples = await interleave([{ fn: () => warm++, timed: async () => reported[timed++]! }], 3, 1);
    assert.deepEqual([warm, timed], [1, 3], 'one warm-up call (untimed), then three timed');
    assert.deepEqual(samples[0], [7, 8, 9]);
  });

  it('judges "≥ 1× PyTorch" on the same-run cells, the faster thread count, round by round', () => {
    const run = runWith([
      cell('seed-psg-65536-pool-2t', 'pool', 2, [4, 4, 4]),
      cell('seed-psg-65536-pytorch-1t', 'pytorch', 1, [3, 3, 3]),
      cell('seed-psg-65536-pytorch-2t', 'pytorch', 2, [2, 1, 2]),
    ]);
    const t = evaluateRunTargets(run, targetSizes(false)).find((x) => x.id === 'seed-psg-vs-pytorch')!;
    assert.equal(t.measured, 0.5, 'PyTorch 2T (2, 1, 2 ms) over the pool (4 ms), per round: 0.5, 0.25, 0.5');
    assert.equal(t.met, false);
    assert.match(t.description, /same run \(PyTorch time \/ pool time\)/);
    assert.match(t.detail!, /PyTorch 2T \(the faster of 1T 0\.0458, 2T 0\.0305\)/);
    assert.match(t.detail!, /against the issue's fixed figure \(0\.022 µs\/sample/);
  });

  it('without PyTorch cells, judges on the issue\'s fixed figure', () => {
    const run = runWith([cell('seed-psg-65536-pool-2t', 'pool', 2, [1.31072, 1.31072, 1.31072])]);
    const t = evaluateRunTargets(run, targetSizes(false)).find((x) => x.id === 'seed-psg-vs-pytorch')!;
    assert.ok(Math.abs(t.measured! - REFERENCE.pytorch['seed-psg-65536'] / 0.02) < 1e-12, `${t.measured}`);
    assert.match(t.detail!, /not same-run/);
  });

  it('names the interpreter and the variable to set when there is no Python with torch', async () => {
    const saved = process.env.GRADPOOL_BENCH_PYTHON;
    process.env.GRADPOOL_BENCH_PYTHON = '/nonexistent/python';
    try {
      const r = await TorchPeer.start(1, 0.1);
      assert.ok('why' in r);
      assert.match(r.why, /^PyTorch not available from \/nonexistent\/python \(.*ENOENT.*\); set GRADPOOL_BENCH_PYTHON to a Python with torch$/);
    } finally {
      if (saved === undefined) delete process.env.GRADPOOL_BENCH_PYTHON;
      else process.env.GRADPOOL_BENCH_PYTHON = saved;
    }
  });
});

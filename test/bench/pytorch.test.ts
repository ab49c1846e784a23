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
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKLOADS } from '../../bench/workloads.js';
import { initParams } from '../../src/model/define.js';
import { loadModel, modelHref } from '../../src/model/load.js';

/**
 * A stand-in for bench/pytorch/peer.py, speaking its protocol without torch: each call replies with
 * the next of `replies` (its ms, settleMs and settled), as the real peer does after settle.py.
 */
function fakePeer(dir: string, replies: object[]): string {
  const path = join(dir, 'fake-python');
  writeFileSync(path, `#!/usr/bin/env node
const threads = Number(process.argv[process.argv.indexOf('--threads') + 1]);
const replies = ${JSON.stringify(replies)};
let calls = 0;
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
say({ ready: true, torch: 'fake', threads });
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  if (req.op === 'close') process.exit(0);
  say(req.op === 'setup' ? { ok: true, loss: 0.5 } : replies[calls++ % replies.length]);
});
`);
  chmodSync(path, 0o755);
  return path;
}

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

  it("reports how long the peer's replies waited for its threads, and the calls that hit the limit or could not tell", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gradpool-fake-peer-'));
    const saved = process.env.GRADPOOL_BENCH_PYTHON;
    process.env.GRADPOOL_BENCH_PYTHON = fakePeer(dir, [
      { ms: 1.5, settleMs: 8, settled: true },
      { ms: 1.6, settleMs: 50.2, settled: false },
      { ms: 1.4, settleMs: 2, settled: true },
      { ms: 1.3, settleMs: 0, settled: null },
    ]);
    try {
      const started = await TorchPeer.start(2, 0.1);
      assert.ok('peer' in started, 'why' in started ? started.why : '');
      const def = await loadModel(modelHref(WORKLOADS.seed.model));
      const { x, y } = WORKLOADS.seed.data(4, 1);
      const { call, loss } = await started.peer.contender('seed', 'psg', def, initParams(def, 0), x, y, 4);
      assert.equal(loss, 0.5);
      const times = [await call(), await call(), await call(), await call()];
      assert.deepEqual(times, [1.5, 1.6, 1.4, 1.3], "the calls' own times, not the waits");
      assert.equal(
        started.peer.settling(),
        'PyTorch 2T: after each of 4 calls the peer waited for its other threads to go idle before replying (median 8.0 ms, max 50.2 ms; not counted in its times); 1 still busy at the 50 ms limit; 1 with no thread states to read (no wait)',
      );
      await started.peer.close();
    } finally {
      if (saved === undefined) delete process.env.GRADPOOL_BENCH_PYTHON;
      else process.env.GRADPOOL_BENCH_PYTHON = saved;
      rmSync(dir, { recursive: true, force: true });
    }
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

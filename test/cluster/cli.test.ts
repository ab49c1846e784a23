// `gradpool train` on 1, 2 and 3 node processes (1 thread each) over a real nats-server on loopback:
// the MNIST example job (a 288-sample subset, batches of 96 = 3 chunks of 32) ends with the single-
// node run's final weights, bit for bit, with and without DP. Killing a node mid-run makes the others
// exit 75 naming it, rank 0 checkpoints the last committed step, and --resume ends bit-identical.
// NATS unreachable at the start: exit 2 naming the URL.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plainLines, runCli, type CliRun } from '../cli/helpers.js';
import { freePort, startNats, type NatsServer } from './nats.js';
import { loadMnist } from '../../src/io/mnist.js';
import { npy } from '../io/helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/jobs/mnist/', import.meta.url));
const TIMEOUT_MS = 3000;

/** The MNIST example job, cut down: 288 training digits, 2 epochs of 3 batches of 96, 1 thread, no validation. */
function mnistJob(dp: boolean, epochs = 2, checkpointEvery = 100): string {
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-cluster-'));
  copyFileSync(join(EXAMPLE, 'model.js'), join(dir, 'model.js'));
  const job = JSON.parse(readFileSync(join(EXAMPLE, 'job.json'), 'utf8')) as Record<string, unknown>;
  delete job.validation;
  Object.assign(job, { data: { format: 'mnist', split: 'train', limit: 288 }, batchSize: 96, epochs, threads: 1, output: { dir: 'out', checkpointEvery, keepLast: 3 } });
  // σ picked for a target ε (RDP, quick to search): every node must pick the one rank 0 picks.
  if (dp) job.dp = { maxGradNorm: 1, targetEpsilon: 8, accountant: 'rdp' };
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
  return join(dir, 'job.json');
}
const weights = (job: string) => readFileSync(join(job, '..', 'out', 'final', 'weights.bin'));
const env = { GRADPOOL_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS) };

describe('cli: gradpool train on several nodes', function () {
  let nats: NatsServer;
  let runs = 0;
  before(async () => (nats = await startNats()));
  after(async () => nats?.stop());

  /** Starts `n` node processes of `job` (all ranks), with `extra` flags and per-rank env and event hooks. */
  function nodes(job: string, n: number, extra: string[] = [], per: (rank: number) => { env?: Record<string, string>; onEvent?: Parameters<typeof runCli>[1] } = () => ({})): Promise<CliRun[]> {
    const runId = `cli${++runs}`;
    return Promise.all(Array.from({ length: n }, (_, rank) => runCli(['train', job, '--nodes', String(n), '--node-rank', String(rank), '--nats', nats.url, '--run-id', runId, ...extra], per(rank).onEvent, { ...env, ...per(rank).env })));
  }

  for (const dp of [false, true]) {
    it(`1, 2 and 3 nodes end with the single-node run's final weights, bit for bit${dp ? ' (DP-SGD, σ for a target ε)' : ''}; only rank 0 writes output.dir`, async () => {
      const single = mnistJob(dp);
      const ref = await runCli(['train', single]);
      assert.equal(ref.code, 0, ref.stderr);
      for (const n of dp ? [2, 3] : [1, 2, 3]) {
        const job = mnistJob(dp);
        const rs = await nodes(job, n);
        rs.forEach((r, rank) => assert.equal(r.code, 0, `rank ${rank} of ${n}: ${r.stderr}`));
        assert.ok(weights(job).equals(weights(single)), `${n} nodes: final weights differ from the single-node run's`);
        const steps = readFileSync(join(job, '..', 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss: number }).filter((l) => l.type === 'step');
        const refSteps = readFileSync(join(single, '..', 'out', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; loss: number }).filter((l) => l.type === 'step');
        assert.deepEqual(steps.map((s) => s.loss), refSteps.map((s) => s.loss), `${n} nodes: step losses`);
      }
    });
  }

  it('npy, csv and jsonl jobs on 2 nodes (each reading its own rows from disk) end with the single-node run\'s final weights, bit for bit', async () => {
    const digits = await loadMnist({ split: 'train', limit: 288 });
    const labels = Array.from({ length: 288 }, (_, i) => digits.y.subarray(i * 10, i * 10 + 10).indexOf(1));
    const header = [...Array.from({ length: 784 }, (_, k) => `p${k}`), 'label'].join(',');
    const lines = labels.map((l, i) => [...Array.from(digits.x.subarray(i * 784, (i + 1) * 784), String), l].join(','));
    const sources = {
      npy: (dir: string) => {
        writeFileSync(join(dir, 'x.npy'), npy('<f4', [288, 784], new Uint8Array(digits.x.buffer, digits.x.byteOffset, digits.x.byteLength)));
        writeFileSync(join(dir, 'y.npy'), npy('<i8', [288], new Uint8Array(BigInt64Array.from(labels, BigInt).buffer)));
        return { format: 'npy', x: join(dir, 'x.npy'), y: join(dir, 'y.npy'), oneHot: 10 };
      },
      csv: (dir: string) => {
        writeFileSync(join(dir, 'd.csv'), [header, ...lines].join('\n') + '\n');
        return { format: 'csv', path: join(dir, 'd.csv'), x: 'p0:p783', y: 'label', oneHot: 10 };
      },
      jsonl: (dir: string) => {
        writeFileSync(join(dir, 'd.jsonl'), labels.map((l, i) => JSON.stringify({ x: Array.from(digits.x.subarray(i * 784, (i + 1) * 784)), y: l })).join('\n') + '\n');
        return { format: 'jsonl', path: join(dir, 'd.jsonl'), oneHot: 10 };
      },
    };
    for (const [format, write] of Object.entries(sources)) {
      const jobOf = () => {
        const job = mnistJob(false);
        const spec = JSON.parse(readFileSync(job, 'utf8')) as Record<string, unknown>;
        spec.data = write(join(job, '..'));
        writeFileSync(job, JSON.stringify(spec));
        return job;
      };
      const single = jobOf();
      const ref = await runCli(['train', single]);
      assert.equal(ref.code, 0, ref.stderr);
      const job = jobOf();
      const rs = await nodes(job, 2);
      rs.forEach((r, rank) => assert.equal(r.code, 0, `${format}, rank ${rank}: ${r.stderr}`));
      assert.ok(weights(job).equals(weights(single)), `${format}: final weights differ from the single-node run's`);
    }
  });

  it('a node killed mid-run: the others exit 75 naming it, rank 0 checkpoints the last committed step, and --resume ends bit-identical', async () => {
    const single = mnistJob(false);
    const ref = await runCli(['train', single]);
    assert.equal(ref.code, 0, ref.stderr);
    const job = mnistJob(false);
    let killedAt = 0;
    const rs = await nodes(job, 3, [], (rank) =>
      rank === 1
        ? { env: { GRADPOOL_TEST_HOLD_AT_STEP: '2' }, onEvent: (e, kill) => e.type === 'hold' && ((killedAt = performance.now()), kill('SIGKILL')) }
        : {},
    );
    const exitedAfterMs = performance.now() - killedAt;
    assert.equal(rs[1]!.signal, 'SIGKILL');
    for (const rank of [0, 2]) {
      assert.equal(rs[rank]!.code, 75, `rank ${rank}: ${rs[rank]!.stderr}`);
      const tail = rank === 0 ? '; rank 0 holds a checkpoint of step 2' : '';
      assert.deepEqual(plainLines(rs[rank]!.stderr), [`gradpool: cluster: lost rank 1 (no heartbeat for ${TIMEOUT_MS} ms)${tail}; restart every node with --resume`]);
    }
    // A bound against hanging, not a speed check: the timeout plus process start-up slack.
    assert.ok(exitedAfterMs < TIMEOUT_MS + 15_000, `the survivors took ${exitedAfterMs} ms`);
    assert.ok(existsSync(join(job, '..', 'out', 'checkpoints', 'ckpt-000000000002.gpck')));
    const resumed = await nodes(job, 3, ['--resume']);
    resumed.forEach((r, rank) => assert.equal(r.code, 0, `rank ${rank}: ${r.stderr}`));
    assert.equal(resumed[0]!.events.find((e) => e.type === 'resume')?.step, 2);
    assert.ok(weights(job).equals(weights(single)), 'resumed weights differ from the uninterrupted run');
  });

  it('NATS lost mid-run: every node exits 75 naming the connection, and --resume on a new server ends bit-identical', async () => {
    const single = mnistJob(false, 12, 2);
    const ref = await runCli(['train', single]);
    assert.equal(ref.code, 0, ref.stderr);
    const own = await startNats();
    const job = mnistJob(false, 12, 2);
    const run = (server: NatsServer, extra: string[] = []) =>
      Promise.all([0, 1].map((rank) => runCli(['train', job, '--nodes', '2', '--node-rank', String(rank), '--nats', server.url, '--run-id', 'natslost', ...extra], rank === 0 ? (e) => e.type === 'checkpoint' && e.step === 2 && own.stop() : undefined, env)));
    const rs = await run(own);
    for (const [rank, r] of rs.entries()) {
      assert.equal(r.code, 75, `rank ${rank}: ${r.stderr}`);
      assert.match(plainLines(r.stderr).at(-1)!, new RegExp(`^gradpool: cluster: lost the connection to NATS at ${own.url.replace(/\./g, '\\.')}`));
    }
    const again = await startNats();
    try {
      const resumed = await run(again, ['--resume']);
      resumed.forEach((r, rank) => assert.equal(r.code, 0, `rank ${rank}: ${r.stderr}`));
      assert.ok(weights(job).equals(weights(single)), 'resumed weights differ from the uninterrupted run');
    } finally {
      await again.stop();
    }
  });

  it('NATS unreachable at the start: exit 2 with one line naming the URL', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const r = await runCli(['train', mnistJob(false), '--nodes', '2', '--node-rank', '1', '--nats', url]);
    assert.equal(r.code, 2, r.stderr);
    const lines = plainLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]!.startsWith(`gradpool: cluster.nats: cannot connect to ${url} (`), lines[0]);
  });

  it('bad multi-node flags exit 2 naming the flag', async () => {
    const job = mnistJob(false);
    const cases: [string[], string][] = [
      [['--nodes', '2'], 'gradpool: --nats: expected the NATS server\'s URL (e.g. nats://nats:4222) for --nodes 2; or set GRADPOOL_NATS_URL'],
      [['--nodes', 'two', '--nats', nats.url], 'gradpool: --nodes (or GRADPOOL_NODES): expected a non-negative integer, got "two"'],
      [['--nodes', '2', '--node-rank', '2', '--nats', nats.url], 'gradpool: --node-rank: expected an integer in [0, 1], got 2'],
    ];
    for (const [flags, line] of cases) {
      const r = await runCli(['train', job, ...flags]);
      assert.equal(r.code, 2, r.stderr);
      assert.deepEqual(plainLines(r.stderr), [line]);
    }
  });
});

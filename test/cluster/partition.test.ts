// A network partition, for real: rank 1 runs in its own network namespace, joined to the host by a
// veth pair, and the test takes the link down mid-run. Rank 0 must notice within the heartbeat
// timeout, checkpoint its last committed step and exit 75 naming rank 1; rank 1, cut off from NATS,
// exits 75 too; after the link is back, --resume on both ends bit-identical to an uninterrupted run.
// Needs `ip netns` (root, iproute2): where the sandbox refuses it, the test says why and is skipped.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { plainLines, runCli } from '../cli/helpers.js';
import { startNats, type NatsServer } from './nats.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/jobs/mnist/', import.meta.url));
const TIMEOUT_MS = 3000;
const tag = `gp${process.pid % 100000}`;
const NS = `${tag}ns`;
const [HOST_IF, NS_IF] = [`${tag}h`, `${tag}n`];
const [HOST_IP, NS_IP] = ['10.231.77.1', '10.231.77.2'];
const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

/** The MNIST example job, cut down to a run long enough to cut mid-way: 288 digits, batches of 96, 60 epochs (180 steps). */
function job(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gradpool-partition-'));
  copyFileSync(join(EXAMPLE, 'model.js'), join(dir, 'model.js'));
  const j = JSON.parse(readFileSync(join(EXAMPLE, 'job.json'), 'utf8')) as Record<string, unknown>;
  delete j.validation;
  Object.assign(j, { data: { format: 'mnist', split: 'train', limit: 288 }, batchSize: 96, epochs: 60, threads: 1, output: { dir: 'out', checkpointEvery: 2, keepLast: 3 } });
  writeFileSync(join(dir, 'job.json'), JSON.stringify(j));
  return join(dir, 'job.json');
}
const weights = (j: string) => readFileSync(join(j, '..', 'out', 'final', 'weights.bin'));

describe('cluster: a network partition between two nodes (network namespaces)', function () {
  let nats: NatsServer | undefined;
  let created = false;

  before(async function () {
    try {
      ip('netns', 'add', NS);
    } catch (e) {
      console.log(`    (skipped: this sandbox refuses \`ip netns add\`: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message})`);
      return this.skip();
    }
    // From here on, after() removes what this hook made, even if the rest of it fails.
    created = true;
    // A veth left holding HOST_IP (a run killed before its cleanup) would take this run's packets:
    // both nodes would wait for each other until killed. Say so instead.
    const stale = ip('-br', 'addr').toString().split('\n').find((l) => l.includes(`${HOST_IP}/`));
    if (stale) throw new Error(`an interface already holds ${HOST_IP}, left by an earlier run: ${stale.trim()}; delete it (ip link del <name>) and its gp*ns namespace`);
    ip('link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', NS_IF);
    ip('link', 'set', NS_IF, 'netns', NS);
    ip('addr', 'add', `${HOST_IP}/30`, 'dev', HOST_IF);
    ip('link', 'set', HOST_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'addr', 'add', `${NS_IP}/30`, 'dev', NS_IF);
    ip('netns', 'exec', NS, 'ip', 'link', 'set', NS_IF, 'up');
    ip('netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up');
    nats = await startNats(['-a', '0.0.0.0']);
  });

  after(async () => {
    await nats?.stop();
    if (!created) return;
    for (const args of [['link', 'del', HOST_IF], ['netns', 'del', NS]]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  });

  it('cut mid-run: both nodes exit 75 (rank 0 naming rank 1, with a checkpoint), and --resume ends bit-identical', async () => {
    const single = job();
    const ref = await runCli(['train', single]);
    assert.equal(ref.code, 0, ref.stderr);
    const j = job();
    const runId = `${tag}-cut`;
    const env = { GRADPOOL_HEARTBEAT_TIMEOUT_MS: String(TIMEOUT_MS) };
    const flags = (rank: number, host: string) => ['train', j, '--nodes', '2', '--node-rank', String(rank), '--nats', `nats://${host}:${nats!.port}`, '--run-id', runId];
    let cutAt = 0;
    // Cut when rank 0 announces its checkpoint of step 2: the run has 180 steps, so the partition lands mid-run.
    const cut = (e: Record<string, unknown>) => {
      if (cutAt === 0 && e.type === 'checkpoint' && e.step === 2) {
        cutAt = performance.now();
        ip('link', 'set', HOST_IF, 'down');
      }
    };
    const [r0, r1] = await Promise.all([
      runCli(flags(0, '127.0.0.1'), cut, env),
      runCli(flags(1, HOST_IP), undefined, env, [], ['ip', 'netns', 'exec', NS]),
    ]);
    const exitedAfterMs = performance.now() - cutAt;
    ip('link', 'set', HOST_IF, 'up');
    assert.ok(cutAt > 0, `rank 0 never checkpointed step 2: ${r0.stderr}`);
    assert.equal(r0.code, 75, r0.stderr);
    const line = plainLines(r0.stderr).at(-1)!;
    assert.match(line, new RegExp(`^gradpool: cluster: lost rank 1 \\(no heartbeat for ${TIMEOUT_MS} ms\\); rank 0 holds a checkpoint of step \\d+; restart every node with --resume$`));
    assert.equal(r1.code, 75, r1.stderr);
    assert.match(plainLines(r1.stderr).at(-1)!, /^gradpool: cluster: lost /);
    // A bound against hanging, not a speed check: the timeout plus process and NATS slack.
    assert.ok(exitedAfterMs < TIMEOUT_MS + 20_000, `the nodes took ${exitedAfterMs} ms to exit`);
    const resumed = await Promise.all([runCli([...flags(0, '127.0.0.1'), '--resume'], undefined, env), runCli([...flags(1, HOST_IP), '--resume'], undefined, env, [], ['ip', 'netns', 'exec', NS])]);
    resumed.forEach((r, rank) => assert.equal(r.code, 0, `rank ${rank}: ${r.stderr}`));
    assert.ok(weights(j).equals(weights(single)), 'resumed weights differ from the uninterrupted run');
  });
});

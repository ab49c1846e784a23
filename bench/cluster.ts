/**
 * Communication of multi-node training, measured on loopback: for the MNIST MLP and the conv model,
 * 2 and 3 nodes (pools in this process, 1 thread each, over a nats-server this starts on a free
 * port), the bytes each step sends and receives and the milliseconds from a node's chunks being done
 * to the step's outcome being in hand, next to the single-node step time; and what rank 0's update
 * costs now that it alone runs it: its update time (the time every node spent on it when the update
 * was replicated), and its outcome broadcast's bytes next to the fold total's 8·(P+4) that the
 * replicated update broadcast instead. docs/multi-node.md projects
 * these to 2-16 nodes at 10 Gbit/s. `npm run bench` reports them; standalone: `node dist/bench/cluster.js`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { GradPool, adam } from '../src/index.js';
import { WORKLOADS } from './workloads.js';

/** Where Debian's nats-server lives (`.ci/run` installs it); GRADPOOL_NATS_SERVER overrides. */
export const NATS_SERVER = process.env.GRADPOOL_NATS_SERVER ?? ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find(existsSync);

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A loopback port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts nats-server on 127.0.0.1 and resolves once it logs that it is ready; throws naming the binary when it is missing. */
export async function startNatsServer(extra: string[] = []): Promise<NatsServer> {
  if (!NATS_SERVER) throw new Error("nats-server not found (looked in /usr/sbin, /usr/bin, /usr/local/bin; set GRADPOOL_NATS_SERVER): install Debian's nats-server (.ci/run does)");
  const port = await freePort();
  const child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      log += d;
      if (log.includes('Server is ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited with ${code} before it was ready:\n${log}`)));
    child.once('error', reject);
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { url: `nats://127.0.0.1:${port}`, port, stop };
}

/** One measured configuration. */
export interface ClusterRow {
  workload: string;
  params: number;
  nodes: number;
  batch: number;
  /** Median wall time of a step on one node alone (1 thread). */
  singleStepMs: number;
  /** Median wall time of a step with `nodes` nodes (all on this machine's cores). */
  stepMs: number;
  /** Median, over steps, of the slowest node's communication time. */
  commMs: number;
  /** Bytes every node together sent per step (message parts with headers). */
  sentBytesPerStep: number;
  /** Median of rank 0's update (reduce and optimizer), which followers no longer run. */
  updateMs: number;
  /** Bytes rank 0 sent per step: the outcome broadcast (parameters as float32, and the result). */
  outcomeBytesPerStep: number;
  /** What the replicated update broadcast instead: the fold's total, 8·(P+4) bytes before part headers. */
  replicatedTotalBytes: number;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

async function measure(name: 'mlp' | 'conv', nodes: number, batch: number, steps: number, url: string, run: string): Promise<Omit<ClusterRow, 'singleStepMs'> & { single: number }> {
  const w = WORKLOADS[name];
  const { x, y } = w.data(batch, 1);
  const single = await GradPool.create({ model: w.model, threads: 1, seed: 1 });
  const singleMs: number[] = [];
  const o1 = adam();
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    await single.step(x, y, { optimizer: o1 });
    singleMs.push(performance.now() - t0);
  }
  const params = single.model.layout.total;
  await single.close();
  const pools = await Promise.all(Array.from({ length: nodes }, (_, rank) => GradPool.create({ model: w.model, threads: 1, seed: 1, cluster: { nodes, rank, nats: url, runId: run } })));
  const opts = pools.map(() => adam());
  const stepMs: number[] = [];
  const commMs: number[] = [];
  const sent: number[] = [];
  const updateMs: number[] = [];
  const outcome: number[] = [];
  try {
    for (let s = 0; s < steps + 1; s++) {
      const before = pools.map((p) => p.stats().cluster!.sentBytes);
      const t0 = performance.now();
      await Promise.all(pools.map((p, k) => p.step(x, y, { optimizer: opts[k]! })));
      if (s === 0) continue; // the first step includes the rendezvous
      stepMs.push(performance.now() - t0);
      commMs.push(Math.max(...pools.map((p) => p.stats().cluster!.lastStep!.commMs)));
      sent.push(pools.reduce((n, p, k) => n + p.stats().cluster!.sentBytes - before[k]!, 0));
      const call = pools[0]!.stats().lastCall!;
      updateMs.push(call.reduceMs + call.optimizerMs);
      outcome.push(pools[0]!.stats().cluster!.sentBytes - before[0]!);
    }
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  return { workload: w.title, params, nodes, batch, single: median(singleMs), stepMs: median(stepMs), commMs: median(commMs), sentBytesPerStep: median(sent), updateMs: median(updateMs), outcomeBytesPerStep: median(outcome), replicatedTotalBytes: 8 * (params + 4) };
}

/** Measures every configuration (quick: fewer steps). Null with a note when nats-server is missing. */
export async function runClusterBench(o: { quick?: boolean } = {}): Promise<{ rows: ClusterRow[]; note?: string }> {
  if (!NATS_SERVER) return { rows: [], note: 'multi-node communication not measured: nats-server not found' };
  const server = await startNatsServer();
  const steps = o.quick ? 5 : 15;
  const rows: ClusterRow[] = [];
  try {
    let run = 0;
    for (const [name, batch] of [['mlp', 256], ['conv', 96]] as const) {
      for (const nodes of [2, 3]) {
        const r = await measure(name, nodes, batch, steps, server.url, `bench${++run}`);
        const { single, ...row } = r;
        rows.push({ ...row, singleStepMs: single });
      }
    }
  } finally {
    await server.stop();
  }
  return { rows };
}

/** The rows as a console table. */
export function clusterReport(r: { rows: ClusterRow[]; note?: string }): string {
  if (r.note) return r.note;
  const lines = ['multi-node communication on loopback (1 thread per node, all nodes on this machine):', '| model | P | nodes | batch | 1-node step ms | N-node step ms | comm ms | sent KB/step | rank 0 update ms | outcome KB/step | replicated total KB |', '|---|---|---|---|---|---|---|---|---|---|---|'];
  const kb = (b: number) => (b / 1024).toFixed(0);
  for (const x of r.rows) lines.push(`| ${x.workload} | ${x.params} | ${x.nodes} | ${x.batch} | ${x.singleStepMs.toFixed(1)} | ${x.stepMs.toFixed(1)} | ${x.commMs.toFixed(1)} | ${kb(x.sentBytesPerStep)} | ${x.updateMs.toFixed(1)} | ${kb(x.outcomeBytesPerStep)} | ${kb(x.replicatedTotalBytes)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runClusterBench({ quick: process.argv.includes('--quick') });
  console.log(clusterReport(r));
  console.log(JSON.stringify(r));
}

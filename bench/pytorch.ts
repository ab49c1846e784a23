/**
 * PyTorch as a same-run peer of the targets, where a Python with torch is at hand: one Python process
 * per thread count (bench/pytorch/peer.py; torch.set_num_threads is process-wide), serving JSON lines.
 * The targets are defined against PyTorch; with this, the benchmark measures it interleaved with the
 * pool in the same rounds instead of quoting the fixed figures (which stay as the fallback and
 * are reported beside it). Optional: `GRADPOOL_BENCH_PYTHON` names the interpreter (default `python3`);
 * without torch there, no PyTorch cells are made and the run says so.
 *
 * Each call is timed inside the Python process (time.perf_counter around the op), so the pipe's
 * round trip is not counted against PyTorch. While the other contenders run, the peer's main thread
 * blocks on its stdin. Its OpenMP threads spin on after a 2-thread call (~6–9 ms of CPU), and a
 * contender timed beside them lost a vCPU: the peer replies only once they are idle
 * (bench/pytorch/settle.py), and {@link TorchPeer.settling} reports how long that took.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { splitFlat, type ModelDef } from '../src/model/define.js';
import { cellId } from './target-checks.js';
import type { TargetCell } from './types.js';
import type { Workload } from './workloads.js';

const PEER = fileURLToPath(new URL('../../bench/pytorch/peer.py', import.meta.url));

type Reply = { ready?: boolean; torch?: string; threads?: number; ok?: boolean; loss?: number; ms?: number; settleMs?: number; settled?: boolean | null; error?: string };

/** One peer process: PyTorch at `threads` intra-op threads. */
export class TorchPeer {
  private buffered = '';
  private readonly waiting: ((r: Reply) => void)[] = [];
  private ids = 0;
  /** Per call: how long the peer waited for its other threads to go idle before replying (ms), and how that ended. */
  private readonly settles: { ms: number; settled: boolean | null }[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'gradpool-torch-'));

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly threads: number,
  ) {
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.(JSON.parse(line) as Reply);
      }
    });
    // A peer that dies answers every pending request with an error instead of leaving the run waiting.
    proc.once('exit', (code) => this.waiting.splice(0).forEach((w) => w({ error: `the process exited (code ${code})` })));
    proc.stdin.on('error', () => undefined); // EPIPE after such an exit: the exit answers the request
  }

  /** Starts a peer, or returns why it cannot run (no interpreter, no torch). */
  static async start(threads: number, learningRate: number): Promise<{ peer: TorchPeer; version: string } | { why: string }> {
    const python = process.env.GRADPOOL_BENCH_PYTHON ?? 'python3';
    const proc = spawn(python, [PEER, '--threads', String(threads), '--lr', String(learningRate)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const peer = new TorchPeer(proc, threads);
    const ready = await Promise.race([
      peer.next(),
      new Promise<Reply>((resolve) => proc.once('error', (e) => resolve({ error: e.message }))),
      new Promise<Reply>((resolve) => proc.once('exit', (code) => resolve({ error: `exited with ${code}: ${stderr.trim().split('\n').pop()}` }))),
    ]);
    if (!ready.ready) {
      proc.kill();
      peer.cleanup();
      return { why: `PyTorch not available from ${python} (${ready.error ?? 'no answer'}); set GRADPOOL_BENCH_PYTHON to a Python with torch` };
    }
    if (ready.threads !== threads) throw new Error(`PyTorch peer: asked for ${threads} threads, got ${ready.threads}`);
    return { peer, version: ready.torch ?? 'unknown' };
  }

  private next(): Promise<Reply> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private async request(req: object): Promise<Reply> {
    const reply = this.next();
    this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    const r = await reply;
    if (r.error) throw new Error(`PyTorch peer (${this.threads} threads): ${r.error}`);
    return r;
  }

  /**
   * Sets up one contender: `kind` on `workload` with these parameters (the pool's initial values,
   * layout order) and inputs. Returns the call, which resolves with its time in ms as PyTorch measured
   * it, and the batch-mean loss PyTorch computed at setup (a check that it runs the same model).
   */
  async contender(workload: 'seed' | 'mlp' | 'conv', kind: 'psg' | 'step', def: ModelDef, init: Float32Array, x: Float32Array, y: Float32Array, batch: number): Promise<{ call: () => Promise<number>; loss: number }> {
    const id = `c${this.ids++}`;
    const dir = join(this.dir, id);
    mkdirSync(dir);
    const { names, shapes } = def.layout;
    writeFileAt(dir, 'x', x);
    writeFileAt(dir, 'y', y);
    for (const [n, values] of Object.entries(splitFlat(def.layout, init))) writeFileAt(dir, n, values);
    const params = Object.fromEntries(names.map((n, p) => [n, shapes[p]!.slice()]));
    const r = await this.request({ op: 'setup', id, workload, kind, batch, dir, params });
    return {
      call: async () => {
        const c = await this.request({ op: 'call', id });
        this.settles.push({ ms: c.settleMs ?? 0, settled: c.settled ?? null });
        return c.ms!;
      },
      loss: r.loss!,
    };
  }

  /**
   * How the replies waited for PyTorch's other threads (settle.py), as one sentence for the run's
   * notes: the median and largest wait, and the calls whose threads were still busy at its limit
   * or could not be read (no /proc: nothing waited).
   */
  settling(): string {
    const n = this.settles.length;
    const ms = this.settles.map((s) => s.ms).sort((a, b) => a - b);
    const count = (v: boolean | null) => this.settles.filter((s) => s.settled === v).length;
    const [late, unread] = [count(false), count(null)];
    return (
      `PyTorch ${this.threads}T: after each of ${n} calls the peer waited for its other threads to go idle before replying ` +
      `(median ${(ms[n >> 1] ?? 0).toFixed(1)} ms, max ${(ms[n - 1] ?? 0).toFixed(1)} ms; not counted in its times)` +
      (late > 0 ? `; ${late} still busy at the 50 ms limit` : '') +
      (unread > 0 ? `; ${unread} with no thread states to read (no wait)` : '')
    );
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.stdin.end(`${JSON.stringify({ op: 'close' })}\n`);
    await exited;
    this.cleanup();
  }

  private cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function writeFileAt(dir: string, name: string, values: Float32Array): void {
  writeFileSync(join(dir, `${name}.f32`), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** A target contender timed in its own process: its call resolves with the time PyTorch measured. */
export type TimedSpec = Omit<TargetCell, 'latency' | 'usPerSample'> & { fn: () => Promise<number>; timed: () => Promise<number> };

/**
 * PyTorch contenders for `op` at batch `B`, one per peer (thread count). For seed and MLP, whose
 * layouts are torch's too, the batch loss PyTorch computes at setup must match tfjs's for the same
 * parameters and inputs, or the run stops: the peer would be timing another model.
 */
export async function torchContenders(peers: readonly TorchPeer[], w: Workload, def: ModelDef, init: Float32Array, op: 'perSampleGrads' | 'step', B: number, x: Float32Array, y: Float32Array): Promise<TimedSpec[]> {
  const specs: TimedSpec[] = [];
  for (const peer of peers) {
    const { call, loss } = await peer.contender(w.name, op === 'step' ? 'step' : 'psg', def, init, x, y, B);
    if (w.name !== 'conv') {
      const want = tfjsLoss(w, def, init, x, y, B);
      if (!(Math.abs(loss - want) <= 1e-4 * Math.max(1, Math.abs(want)))) throw new Error(`PyTorch peer: ${w.name} batch loss ${loss} where tfjs computes ${want}`);
    }
    specs.push({ id: cellId(w.name, op, B, `pytorch-${peer.threads}t`), label: `${w.name} ${op} B=${B}, PyTorch ${peer.threads}T (own process)`, workload: w.name, op, batch: B, method: 'pytorch', threads: peer.threads, executor: null, chunkSize: null, fn: call, timed: call });
  }
  return specs;
}

/** The workload's batch-mean loss in tfjs on the main thread, for the same parameters (layout order) and inputs. */
function tfjsLoss(w: Workload, def: ModelDef, init: Float32Array, x: Float32Array, y: Float32Array, B: number): number {
  return tf.tidy(() => {
    const views = splitFlat(def.layout, init);
    const p = Object.fromEntries(def.layout.names.map((n, i) => [n, tf.tensor(views[n]!, def.layout.shapes[i]!.slice())]));
    return w.batchedLoss(w.batchedForward(p, tf.tensor(x, [B, ...def.inputShape])), tf.tensor(y, [B, ...def.targetShape])).dataSync()[0]!;
  });
}

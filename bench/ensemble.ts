/**
 * Model ensembles against separate pools: K members of the MNIST MLP on one pool
 * (`GradPool.create({ ensemble: K })`) against K single pools seeded seed + k, the same batch, the
 * same threads each. Per-sample gradients and a training step, measured interleaved (one call of each
 * contender per round, in a shuffled order), reported as medians with quartiles and per-round ratios
 * (separate pools' time / the ensemble's). The K separate pools run one after another, as a user's
 * loop over them would: they share the machine's cores, so running them at once would only queue.
 */
import { GradPool, sgd, type EnsemblePool } from '../src/index.js';
import { interleave, latencyStats } from './measure.js';
import { ratioStats } from './target-checks.js';
import type { InterleavedOptions, LatencyStats, RatioStats } from './types.js';
import { WORKLOADS } from './workloads.js';

export interface EnsembleBenchOptions extends InterleavedOptions {
  members: number;
  batch: number;
}

export interface EnsembleBenchCell {
  op: 'perSampleGrads' | 'step';
  ensemble: LatencyStats;
  separate: LatencyStats;
  /** Per round: K separate pools' time over the ensemble's (> 1: the ensemble is faster). */
  speedup: RatioStats;
  /** The ensemble's last call, from pool.stats().lastCall: where its time goes. */
  ensembleBreakdown: Record<string, number> | null;
}

export interface EnsembleBenchResult {
  model: string;
  members: number;
  batch: number;
  threads: number;
  backend: string;
  rounds: number;
  cells: EnsembleBenchCell[];
}

/** Runs the comparison (see the file comment). */
export async function runEnsembleBench(o: EnsembleBenchOptions): Promise<EnsembleBenchResult> {
  const w = WORKLOADS.mlp;
  const seed = o.seed ?? 0;
  const common = { model: w.model, threads: o.threads, backend: o.backend };
  const ens: EnsemblePool = await GradPool.create({ ...common, ensemble: o.members, seed });
  const singles: GradPool[] = [];
  try {
    for (let k = 0; k < o.members; k++) singles.push(await GradPool.create({ ...common, seed: seed + k }));
    const { x, y } = w.data(o.batch, seed);
    const ensOpt = sgd({ learningRate: 0.01 });
    const opts = singles.map(() => sgd({ learningRate: 0.01 }));
    const ops = {
      perSampleGrads: { ens: () => ens.perSampleGrads(x, y, { copy: false }), one: (p: GradPool) => p.perSampleGrads(x, y, { copy: false }) },
      step: { ens: () => ens.step(x, y, { optimizer: ensOpt }), one: (p: GradPool, k: number) => p.step(x, y, { optimizer: opts[k]! }) },
    };
    const cells: EnsembleBenchCell[] = [];
    for (const op of ['perSampleGrads', 'step'] as const) {
      if (o.log) console.log(`ensemble: ${op}, K=${o.members}, B=${o.batch}, ${o.threads} threads, ${o.rounds} interleaved rounds`);
      let breakdown: Record<string, number> | null = null;
      const separate = async () => {
        for (const [k, p] of singles.entries()) await ops[op].one(p, k);
      };
      const [e, s] = await interleave([{ fn: ops[op].ens, after: () => void (breakdown = { ...(ens.stats().lastCall as unknown as Record<string, number>) }) }, { fn: separate }], o.rounds, o.warmupCalls);
      cells.push({ op, ensemble: latencyStats(e!), separate: latencyStats(s!), speedup: ratioStats(s!, e!), ensembleBreakdown: breakdown });
    }
    return { model: w.title, members: o.members, batch: o.batch, threads: o.threads, backend: o.backend, rounds: o.rounds, cells };
  } finally {
    await Promise.all([ens.close(), ...singles.map((p) => p.close())]);
  }
}

/** The result as console lines: one per op, medians with IQR, and the speedup. */
export function ensembleReport(r: EnsembleBenchResult): string {
  const f = (v: number) => v.toFixed(2);
  const lines = [`Ensembles: ${r.model}, K=${r.members} on one pool vs ${r.members} separate pools, B=${r.batch}, ${r.threads} threads, ${r.backend}, ${r.rounds} interleaved rounds`];
  for (const c of r.cells)
    lines.push(
      `  ${c.op}: ensemble ${f(c.ensemble.medianMs)} ms (IQR ${f(c.ensemble.q1Ms!)}–${f(c.ensemble.q3Ms!)}), separate ${f(c.separate.medianMs)} ms (IQR ${f(c.separate.q1Ms!)}–${f(c.separate.q3Ms!)}); ` +
        `separate / ensemble per round: median ${f(c.speedup.median)}× (IQR ${f(c.speedup.q1)}–${f(c.speedup.q3)}, min–max ${f(c.speedup.min)}–${f(c.speedup.max)}, n=${c.speedup.n})`,
    );
  return lines.join('\n');
}

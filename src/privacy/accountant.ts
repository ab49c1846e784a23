/**
 * One interface over the two accountants for a run's history of DP-SGD steps: ε of a list of
 * phases under `'prv'` (default, as in Opacus ≥ 1.3) or `'rdp'`, and Opacus's way of recording a
 * step (consecutive steps with the same q and σ merge into one phase), so that a run whose σ or q
 * changes (a resumed job with a new noise multiplier) composes heterogeneously and exactly.
 */

import { prvBounds, type PrivacyPhase } from './prv-numerics.js';
import { DEFAULT_ORDERS, bestEpsilon, sgmRdp } from './sgm.js';

/** Which accountant reports ε. */
export type Accountant = 'prv' | 'rdp';
export const ACCOUNTANTS: readonly Accountant[] = ['prv', 'rdp'];

/** Opacus `PRVAccountant.step`: extend the last phase if q and σ are unchanged, else start a new one. */
export function recordStep(phases: PrivacyPhase[], sampleRate: number, noiseMultiplier: number): void {
  const last = phases.at(-1);
  if (last && last.sampleRate === sampleRate && last.noiseMultiplier === noiseMultiplier) last.steps++;
  else phases.push({ sampleRate, noiseMultiplier, steps: 1 });
}

const ORDERS = Float64Array.from(DEFAULT_ORDERS);
/** One step's RDP per (q, σ): RDP composes additively, so a phase's is this times its steps. */
const rdpPerStep = new Map<string, Float64Array>();
function stepRdp(q: number, sigma: number): Float64Array {
  const key = `${q},${sigma}`;
  let r = rdpPerStep.get(key);
  if (!r) {
    r = sgmRdp(q, sigma, 1, ORDERS);
    if (rdpPerStep.size > 64) rdpPerStep.clear();
    rdpPerStep.set(key, r);
  }
  return r;
}

/** Options shared by both accountants. */
export interface PhasesEpsilonOptions {
  /** PRV only: allowed error of the ε estimate (default 0.01, Opacus `eps_error`). */
  epsError?: number;
}

/**
 * ε at δ of `phases` under `accountant`, on validated arguments: for 'prv' the upper bound of
 * {@link prvEpsilon}'s estimate, for 'rdp' {@link rdpEpsilon}'s figure with Opacus's orders.
 * Phases that touch no data (q = 0 or no steps) are left out; none left is ε = 0 under PRV and the
 * conversion's slack under RDP (as `rdpEpsilon` with steps = 0 reports it).
 */
export function phasesEpsilon(accountant: Accountant, phases: readonly PrivacyPhase[], delta: number, options: PhasesEpsilonOptions = {}): number {
  const live = phases.filter((p) => p.sampleRate > 0 && p.steps > 0);
  if (accountant === 'rdp') {
    const total = new Float64Array(ORDERS.length);
    for (const p of live) {
      const r = stepRdp(p.sampleRate, p.noiseMultiplier);
      // Infinity * steps stays Infinity; never 0 * Infinity since steps > 0.
      for (let i = 0; i < total.length; i++) total[i]! += r[i]! * p.steps;
    }
    return bestEpsilon(ORDERS, total, delta, 'improved').epsilon;
  }
  return prvBounds(live, delta, options.epsError ?? 0.01, delta / 1000).upper;
}

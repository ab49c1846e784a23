/**
 * The privacy side of `fit`'s DP-SGD: checking `dp`, choosing the noise multiplier for a target ε,
 * and the accountant's history of steps, which is saved in the fit state so a resumed run's ε
 * continues exactly (and composes heterogeneously if σ or q changes between the two).
 */
import { errors } from '../errors.js';
import { ACCOUNTANTS, phasesEpsilon, recordStep, type Accountant } from '../privacy/accountant.js';
import { searchNoiseMultiplier } from '../privacy/noise.js';
import type { PrivacyPhase } from '../privacy/prv-numerics.js';
import { DEFAULT_ORDERS, epsilonFloor } from '../privacy/sgm.js';
import { checkKnownFields, checkOptionsObject } from '../validate.js';
import { CLIPPINGS, type Clipping } from './clipping.js';

/** DP-SGD for `fit`: Opacus semantics, with the PRV (default) or RDP accountant reporting ε. */
export interface FitDp {
  maxGradNorm: number;
  /** σ: noise std over maxGradNorm. Give this or `targetEpsilon`, not both. */
  noiseMultiplier?: number;
  /**
   * Instead of `noiseMultiplier`: the ε the whole run (all `epochs`) may spend at `delta`. σ is
   * chosen by Opacus's doubling-and-bisection search under `accountant`, so the run ends with ε in
   * [0.99 × target, target] (the search's tolerance is min(0.01, 1% of the target)). The chosen σ is in
   * `History.noiseMultiplier` and the fit state; a resumed run keeps it.
   */
  targetEpsilon?: number;
  /** `'poisson'` (default; what the accountants assume) or `'shuffle'` (fixed-size batches). */
  sampling?: 'poisson' | 'shuffle';
  /** δ of the reported (ε, δ). Default 1e-5; a δ >= 1/N (N samples) is warned about. */
  delta?: number;
  /** `'prv'` (default, as Opacus ≥ 1.3; tighter) or `'rdp'`. */
  accountant?: Accountant;
  /**
   * Draw the Gaussian noise from `node:crypto` (see privacy/secure-noise.ts) instead of the seeded
   * counter-based generator. Training is then NOT reproducible: not bit-identical across thread
   * counts, runs or resumes. Default false.
   */
  secureRng?: boolean;
  /** Ghost or per-sample clipping (see {@link StepDp.clipping}); default `'auto'`. */
  clipping?: Clipping;
}

/** What the fit state keeps of DP: the σ in use and every step so far, as Opacus's accountant history. */
export interface DpFitState {
  noiseMultiplier: number;
  /** Runs of identical steps, oldest first (q and σ of each). */
  phases: PrivacyPhase[];
}

const FIELDS = ['maxGradNorm', 'noiseMultiplier', 'targetEpsilon', 'sampling', 'delta', 'accountant', 'secureRng', 'clipping'];
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks `fit`'s `dp` field by field (the step re-checks maxGradNorm and σ itself). */
export function checkFitDp(dp: FitDp): void {
  checkOptionsObject(dp, FIELDS, 'an object {maxGradNorm, noiseMultiplier or targetEpsilon}', 'dp');
  if (dp.noiseMultiplier !== undefined && dp.targetEpsilon !== undefined)
    throw errors.invalidOption('dp.noiseMultiplier|dp.targetEpsilon', 'one of dp.noiseMultiplier and dp.targetEpsilon, not both', { noiseMultiplier: dp.noiseMultiplier, targetEpsilon: dp.targetEpsilon });
  if (dp.noiseMultiplier === undefined && dp.targetEpsilon === undefined)
    throw errors.invalidOption('dp.noiseMultiplier|dp.targetEpsilon', 'one of dp.noiseMultiplier and dp.targetEpsilon', undefined);
  if (dp.targetEpsilon !== undefined && !(finite(dp.targetEpsilon) && dp.targetEpsilon > 0)) throw errors.invalidOption('dp.targetEpsilon', 'a finite number > 0', dp.targetEpsilon);
  if (dp.sampling !== undefined && dp.sampling !== 'poisson' && dp.sampling !== 'shuffle') throw errors.invalidOption('dp.sampling', "'poisson' or 'shuffle'", dp.sampling);
  if (dp.delta !== undefined && !(typeof dp.delta === 'number' && dp.delta > 0 && dp.delta < 1)) throw errors.invalidOption('dp.delta', 'a number in (0, 1)', dp.delta);
  if (dp.accountant !== undefined && !ACCOUNTANTS.includes(dp.accountant)) throw errors.invalidOption('dp.accountant', "'prv' or 'rdp'", dp.accountant);
  if (dp.secureRng !== undefined && typeof dp.secureRng !== 'boolean') throw errors.invalidOption('dp.secureRng', 'a boolean', dp.secureRng);
  if (dp.clipping !== undefined && !CLIPPINGS.includes(dp.clipping)) throw errors.invalidOption('dp.clipping', "'auto', 'ghost' or 'per-sample'", dp.clipping);
}

/** Checks a saved `initialState.dp`. */
export function checkDpState(name: string, v: unknown): void {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw errors.type(name, 'an object {noiseMultiplier, phases}', v);
  checkKnownFields(name, v, ['noiseMultiplier', 'phases']);
  const s = v as Record<string, unknown>;
  if (!finite(s.noiseMultiplier) || s.noiseMultiplier < 0) throw errors.invalidOption(`${name}.noiseMultiplier`, 'a finite number >= 0', s.noiseMultiplier);
  if (!Array.isArray(s.phases)) throw errors.invalidOption(`${name}.phases`, 'an array of {sampleRate, noiseMultiplier, steps}', s.phases);
  s.phases.forEach((p: unknown, i) => {
    const at = `${name}.phases[${i}]`;
    if (!p || typeof p !== 'object') throw errors.type(at, 'an object {sampleRate, noiseMultiplier, steps}', p);
    checkKnownFields(at, p, ['sampleRate', 'noiseMultiplier', 'steps']);
    const { sampleRate: q, noiseMultiplier: sigma, steps } = p as Record<string, unknown>;
    if (!finite(q) || q < 0 || q > 1) throw errors.invalidOption(`${at}.sampleRate`, 'a number in [0, 1]', q);
    if (!finite(sigma) || sigma < 0) throw errors.invalidOption(`${at}.noiseMultiplier`, 'a finite number >= 0', sigma);
    if (!Number.isSafeInteger(steps) || (steps as number) < 1) throw errors.invalidOption(`${at}.steps`, 'a positive integer', steps);
  });
}

/** Warned once per process and (δ, N), as the rule of thumb Opacus's FAQ states. */
const warned = new Set<string>();
function warnDelta(delta: number, n: number): void {
  const key = `${delta}/${n}`;
  if (delta < 1 / n || warned.has(key)) return;
  warned.add(key);
  process.emitWarning(
    `dp.delta: ${delta} is >= 1/N = 1/${n} (N = ${n} training samples); set delta below the inverse of the training set size ` +
      `(Opacus's rule of thumb), else an (ε, δ) guarantee allows releasing about δ·N whole samples`,
    'GradPoolWarning',
  );
}

/** The run's shape, as the accountant sees it. */
export interface DpRun {
  /** Dataset size N. */
  n: number;
  /** Poisson rate of each step. */
  sampleRate: number;
  /** Steps the whole run takes (all epochs), counting those already taken. */
  totalSteps: number;
}

/** A fit's accountant: the σ to use, each step recorded, and ε so far (memoised per step count). */
export class DpAccounting {
  readonly noiseMultiplier: number;
  readonly delta: number;
  readonly accountant: Accountant;
  private readonly phases: PrivacyPhase[];
  private memo: { steps: number; epsilon: number } | null = null;

  /**
   * `saved` is a resumed run's `FitState.dp`; `legacySteps` the `dpSteps` of a state saved before the
   * history existed (they are taken to have used this run's σ and q, as gradpool then assumed).
   */
  constructor(dp: FitDp, run: DpRun, saved: DpFitState | undefined, legacySteps: number) {
    this.delta = dp.delta ?? 1e-5;
    this.accountant = dp.accountant ?? 'prv';
    warnDelta(this.delta, run.n);
    this.phases = saved ? structuredClone(saved.phases) : [];
    if (dp.noiseMultiplier !== undefined) this.noiseMultiplier = dp.noiseMultiplier;
    else if (saved) this.noiseMultiplier = saved.noiseMultiplier; // chosen when the run began
    else this.noiseMultiplier = this.chooseSigma(dp.targetEpsilon!, run);
    if (!saved && legacySteps > 0) this.phases.push({ sampleRate: run.sampleRate, noiseMultiplier: this.noiseMultiplier, steps: legacySteps });
  }

  /** The σ whose whole run, every step at σ, ends at ε <= target, within 1% of it. */
  private chooseSigma(target: number, run: DpRun): number {
    const at = (sigma: number) => phasesEpsilon(this.accountant, [{ sampleRate: run.sampleRate, noiseMultiplier: sigma, steps: run.totalSteps }], this.delta);
    const floor =
      this.accountant === 'prv'
        ? { epsilon: 0.01, why: "the PRV accountant's epsError, which its upper bound adds even for infinite noise" }
        : { epsilon: epsilonFloor(Float64Array.from(DEFAULT_ORDERS), this.delta, 'improved'), why: 'the epsilon of infinite noise at this delta under the RDP accountant' };
    return searchNoiseMultiplier('dp.targetEpsilon', target, Math.min(0.01, 0.01 * target), at, floor);
  }

  /** Records one applied DP step. */
  step(sampleRate: number): void {
    recordStep(this.phases, sampleRate, this.noiseMultiplier);
    this.memo = null;
  }

  /** ε spent so far at δ. PRV costs up to a second or two on large runs, so it is computed once per step count. */
  epsilon(): number {
    return this.epsilonAfter(this.phases);
  }

  /**
   * A function giving ε as of now, computed only when called (a step's logs read it lazily): it
   * keeps a copy of the history, so calling it later still answers for this step.
   */
  epsilonNow(): () => number {
    const phases = structuredClone(this.phases);
    return () => this.epsilonAfter(phases);
  }

  private epsilonAfter(phases: readonly PrivacyPhase[]): number {
    const steps = phases.reduce((n, p) => n + p.steps, 0);
    if (this.memo?.steps !== steps) this.memo = { steps, epsilon: phasesEpsilon(this.accountant, phases, this.delta) };
    return this.memo.epsilon;
  }

  state(): DpFitState {
    return { noiseMultiplier: this.noiseMultiplier, phases: structuredClone(this.phases) };
  }
}

import { Rng } from '../rng.js';

/** How `fit` draws batches: in order, shuffled each epoch, or Poisson (each sample independently, DP-SGD). */
export type Sampling = 'sequential' | 'shuffle' | 'poisson';

/** The sampler's full state at a step boundary: enough to replay the rest of training exactly. */
export interface SamplerState {
  /** Generator state at the start of the current epoch (the shuffle permutation is re-drawn from it). */
  epochRng: number[];
  /** Generator state now. */
  rng: number[];
}

/**
 * Yields the sample indices of each batch. Everything random comes from one seeded generator whose
 * state is saved at step boundaries, so a resumed run draws exactly the batches the uninterrupted run
 * would have drawn.
 */
export class Sampler {
  private rng: Rng;
  private epochRng: number[];
  private perm: Uint32Array | null = null;
  readonly q: number;

  constructor(
    readonly n: number,
    readonly batchSize: number,
    readonly mode: Sampling,
    seed: number,
    state?: SamplerState,
  ) {
    this.rng = new Rng(state ? state.rng : seed);
    this.epochRng = state ? state.epochRng : this.rng.state();
    this.q = Math.min(1, batchSize / n);
    // Resuming mid-epoch: re-draw this epoch's permutation from the state it was drawn from.
    if (state && mode === 'shuffle') this.perm = new Rng(state.epochRng).permutation(n);
  }

  /** Steps per epoch: ⌈n / batchSize⌉, or for Poisson sampling 1/q rounded (as Opacus). */
  get batchesPerEpoch(): number {
    return this.mode === 'poisson' ? Math.max(1, Math.round(1 / this.q)) : Math.ceil(this.n / this.batchSize);
  }

  /** Call at the start of every epoch (not when resuming inside one). */
  startEpoch(): void {
    this.epochRng = this.rng.state();
    if (this.mode === 'shuffle') this.perm = this.rng.permutation(this.n);
  }

  /** The indices of batch `b` of the current epoch. Poisson batches vary in size and may be empty. */
  batch(b: number): Uint32Array {
    if (this.mode === 'poisson') {
      const out: number[] = [];
      for (let i = 0; i < this.n; i++) if (this.rng.uniform() < this.q) out.push(i);
      return Uint32Array.from(out);
    }
    const lo = b * this.batchSize;
    const hi = Math.min(this.n, lo + this.batchSize);
    if (this.mode === 'shuffle') return this.perm!.slice(lo, hi);
    return Uint32Array.from({ length: hi - lo }, (_, i) => lo + i);
  }

  state(): SamplerState {
    return { epochRng: [...this.epochRng], rng: this.rng.state() };
  }
}

/** Copies rows `idx` of `src` (rows of `rowSize`) into `dst`, in order. */
export function gatherRows(src: Float32Array, idx: Uint32Array, rowSize: number, dst: Float32Array): void {
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j]!;
    dst.set(src.subarray(i * rowSize, (i + 1) * rowSize), j * rowSize);
  }
}

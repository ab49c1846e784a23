/**
 * One step's cross-node reduction: an ordered fold along a chain of the ranks, 1, 2, …, N-1, then 0.
 * The first adds its chunks' partial rows, in chunk order, to zero and sends the running sums on; each
 * next node adds its chunks to what the one before sent; rank 0, last, ends with the total and runs
 * the update (step.ts). Because the chain's nodes hold contiguous runs of chunks in chain order, every
 * gradient element sees exactly the additions of the single-node reduction (`reducePartials`:
 * 0 + p₀ + p₁ + … + p_{C-1}, in float64) in the same order, so the total is bit-identical to one
 * node's for any node and thread count. The losses' sum (in sample order), the clipped count and the
 * lowest non-finite sample ride along; a failure on any rank rides along instead of the sums, and
 * rank 0 sends it to every node as the step's outcome.
 * docs/multi-node.md measures this against shipping every chunk's partials and against
 * reproducible pre-summing.
 */
import { KIND } from './wire.js';
import type { ClusterLink } from './node.js';
import { chainPosition, rankAt } from './options.js';
import { clusterErrors } from './errors.js';

/** A failure of a rank's part of the step, as it travels (the error's code, message and global sample). */
export interface Failure {
  code: string;
  message: string;
  sample?: number;
}

/** What a rank contributes, or what the fold has accumulated. */
export interface FoldSums {
  /** Σ per-sample loss, in sample order, float64. */
  lossSum: number;
  /** Samples whose gradient norm exceeded the DP clip. */
  clipped: number;
  /** Lowest non-finite sample (global index), or -1. */
  badSample: number;
  failure: Failure | null;
  /** Running Σ of partial rows, per parameter element (P values). */
  sum: Float64Array;
}

/** This rank's own part: its chunks' rows of the partial region, losses and norms. */
export interface LocalPart {
  rows: number;
  partial: Float64Array | null;
  loss: Float32Array | null;
  clipped: number;
  badSample: number;
  failure: Failure | null;
}

const HEAD = 4; // lossSum, clipped, badSample, failure bytes

/** A sample failure (lowest sample first) outranks one without a sample, as in a single-node step (dispatch.ts mergeClaimed). */
function firstFailure(a: Failure | null, b: Failure | null): Failure | null {
  if (!a || !b) return a ?? b;
  return a.sample !== undefined || b.sample === undefined ? a : b;
}

/** Adds this rank's part to the fold, in place; the fold holds everything of the ranks before. */
export function addPart(acc: FoldSums, part: LocalPart, P: number): void {
  acc.failure = firstFailure(acc.failure, part.failure);
  if (acc.failure) return;
  if (acc.badSample < 0) acc.badSample = part.badSample;
  acc.clipped += part.clipped;
  let s = acc.lossSum;
  for (let i = 0; i < (part.loss?.length ?? 0); i++) s += part.loss![i]!;
  acc.lossSum = s;
  const { partial, rows } = part;
  if (!partial || rows === 0) return;
  const sum = acc.sum;
  for (let k = 0; k < P; k++) {
    let v = sum[k]!;
    for (let c = 0; c < rows; c++) v += partial[c * P + k]!;
    sum[k] = v;
  }
}

export function encodeFold(f: FoldSums): Uint8Array {
  const fail = f.failure ? new TextEncoder().encode(JSON.stringify(f.failure)) : new Uint8Array(0);
  const out = new Uint8Array(8 * (HEAD + f.sum.length) + fail.length);
  const v = new Float64Array(out.buffer, 0, HEAD + f.sum.length);
  v[0] = f.lossSum;
  v[1] = f.clipped;
  v[2] = f.badSample;
  v[3] = fail.length;
  if (!f.failure) v.set(f.sum, HEAD);
  out.set(fail, 8 * (HEAD + f.sum.length));
  return out;
}

export function decodeFold(body: Uint8Array, P: number): FoldSums | string {
  if (body.length < 8 * (HEAD + P) || body.byteOffset % 8 !== 0) return `a fold of ${body.length} bytes for ${P} parameters`;
  const v = new Float64Array(body.buffer, body.byteOffset, HEAD + P);
  const failBytes = v[3]!;
  if (body.length !== 8 * (HEAD + P) + failBytes) return `a fold of ${body.length} bytes, expected ${8 * (HEAD + P) + failBytes}`;
  const failure = failBytes > 0 ? (JSON.parse(new TextDecoder().decode(body.subarray(8 * (HEAD + P)))) as Failure) : null;
  return { lossSum: v[0]!, clipped: v[1]!, badSample: v[2]!, failure, sum: v.subarray(HEAD) };
}

/** Reused running sums of the chain's first node (fresh memory costs page faults every step). */
const scratch = new Map<number, Float64Array>();

/**
 * Runs step `step`'s fold for this rank's `part` along the chain (ranks 1, 2, …, N-1, 0; see
 * options.ts chainPosition): waits for the node before it, adds its part, and passes the running sums
 * on. Returns the totals on rank 0, the chain's end, and null on every other rank (which then waits
 * for rank 0's outcome). A lost rank fails the wait.
 */
export async function fold(link: ClusterLink, step: number, P: number, part: LocalPart): Promise<FoldSums | null> {
  const { rank, nodes } = link.o;
  const at = chainPosition(nodes, rank);
  let acc: FoldSums;
  if (at === 0) {
    let zero = scratch.get(P);
    if (!zero) scratch.set(P, (zero = new Float64Array(P)));
    zero.fill(0);
    acc = { lossSum: 0, clipped: 0, badSample: -1, failure: null, sum: zero };
  } else acc = checked(await link.receive(KIND.fold, step, rankAt(nodes, at - 1)), P, link);
  addPart(acc, part, P);
  if (rank === 0) return acc;
  link.send(link.to(rankAt(nodes, at + 1)), KIND.fold, step, encodeFold(acc));
  return null;
}

function checked(body: Uint8Array, P: number, link: ClusterLink): FoldSums {
  const f = decodeFold(body, P);
  if (typeof f === 'string') {
    link.dropped.malformed++;
    throw clusterErrors.protocol(f);
  }
  return f;
}

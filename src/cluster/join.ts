/**
 * The rendezvous at the start of a run. Every rank other than 0 says hello to rank 0 (again every
 * 250 ms: core NATS keeps nothing for a subscriber that is not there yet) and waits; when all have,
 * rank 0 broadcasts the members (each rank's process incarnation) and the starting state: the
 * parameters, the fit state (sampler included) and the random-call counter. The other ranks adopt it,
 * so they keep no state of their own on disk and a `--resume` of rank 0 is the run's resume. The
 * optimizer state stays on rank 0, which alone runs the update (step.ts). A node whose declared step
 * differs from rank 0's, or that arrives once the run is under way, is refused with a message
 * naming both steps.
 */
import type { NDArray } from '../input.js';
import type { FitState } from '../train/fit.js';
import { clusterErrors } from './errors.js';
import type { ClusterLink } from './node.js';
import type { Header } from './wire.js';
import { KIND } from './wire.js';

/** What the rendezvous reads from and writes into a pool (its PoolCore is one). */
export interface PoolAccess {
  readonly params: {
    get(): Record<string, NDArray>;
    /** Stages values (flat offset → data) for the next call, as setParams does once it has validated them. */
    stage(writes: [offset: number, data: Float32Array][]): void;
    readonly layout: { readonly names: readonly string[]; readonly offsets: readonly number[]; readonly sizes: readonly number[] };
  };
  randomCalls: number;
}

interface WelcomeMeta {
  members: number[];
  seq: number;
  fit: FitState | null;
  randomCalls: number;
  params: string[];
  /** Length of each array that follows, one per parameter. */
  sizes: number[];
}

const HELLO_EVERY_MS = 250;
const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const parse = <T>(b: Uint8Array): T => JSON.parse(new TextDecoder().decode(b)) as T;

/**
 * Joins the run: rank 0 waits for every other rank and sends its state; the others adopt rank 0's.
 * `fit` is the state this node starts from (undefined: a fresh start, or for ranks > 0 "whatever
 * rank 0 has"). Returns the fit state to continue from.
 */
export async function join(link: ClusterLink, pool: PoolAccess, fit: FitState | undefined): Promise<FitState | undefined> {
  return link.o.rank === 0 ? lead(link, pool, fit) : follow(link, pool, fit);
}

async function lead(link: ClusterLink, pool: PoolAccess, fit: FitState | undefined): Promise<FitState | undefined> {
  const { nodes, joinTimeoutMs } = link.o;
  const step = fit?.globalStep ?? link.seq;
  const members: (number | undefined)[] = [link.incarnation, ...new Array<undefined>(nodes - 1)];
  const refuse = (h: Header, why: string) => link.send(link.to(h.from), KIND.refuse, step, json({ target: h.incarnation, why }));
  let arrived: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (arrived = resolve));
  const count = () => members.filter((m) => m !== undefined).length;
  if (count() === nodes) arrived();
  link.onHello = (h, body) => {
    const declared = parse<{ step: number | null }>(body).step;
    if (link.members) return refuse(h, `rank ${h.from} joins at step ${declared ?? 0}, but the run is already at step ${link.seq}`);
    if (h.from === 0) return refuse(h, 'rank 0 is this node');
    if (members[h.from] !== undefined && members[h.from] !== h.incarnation) return refuse(h, `rank ${h.from} is already taken by another process`);
    if (declared !== null && declared !== step) return refuse(h, `rank ${h.from} starts at step ${declared}, but rank 0 is at step ${step}`);
    members[h.from] = h.incarnation;
    if (count() === nodes) arrived();
  };
  await within(all, link, joinTimeoutMs, () => members.flatMap((m, r) => (m === undefined ? [r] : [])));
  const params = pool.params.get();
  const names = Object.keys(params);
  const arrays = names.map((n) => params[n]!.data as Float32Array);
  const meta: WelcomeMeta = { members: members as number[], seq: step, fit: fit ?? null, randomCalls: pool.randomCalls, params: names, sizes: arrays.map((a) => a.length) };
  link.send(link.all, KIND.welcome, step, pack(meta, arrays));
  link.assembled(members as number[], step);
  return fit;
}

async function follow(link: ClusterLink, pool: PoolAccess, fit: FitState | undefined): Promise<FitState | undefined> {
  const hello = () => link.send(link.to(0), KIND.hello, link.seq, json({ step: fit?.globalStep ?? null }));
  hello();
  const again = setInterval(hello, HELLO_EVERY_MS);
  try {
    // Both answers are addressed: a refusal names the process it refuses, a welcome its members. An
    // answer to another process holding this rank (one that arrived before, or is refused now) is not ours.
    const refused = (async () => {
      for (;;) {
        const r = parse<{ target: number; why: string }>(await link.receive(KIND.refuse));
        if (r.target === link.incarnation) throw clusterErrors.refused(r.why);
        link.dropped.unknownSender++;
      }
    })();
    const welcomed = (async () => {
      for (;;) {
        const w = unpack(await link.receive(KIND.welcome));
        if (w.meta.members[link.o.rank] === link.incarnation) return w;
        link.dropped.unknownSender++;
      }
    })();
    // The loser of the race waits on; a later link failure must not surface as an unhandled rejection.
    for (const p of [refused, welcomed]) p.catch(() => undefined);
    const { meta, arrays } = await within(Promise.race([welcomed, refused]), link, link.o.joinTimeoutMs, () => [0]);
    const { names, offsets, sizes } = pool.params.layout;
    pool.params.stage(meta.params.map((n, i) => {
      const p = names.indexOf(n);
      if (p < 0) throw clusterErrors.protocol(`the starting state names parameter ${JSON.stringify(n)}, which this node's model does not have`);
      if (arrays[i]!.length !== sizes[p]) throw clusterErrors.protocol(`the starting state holds ${arrays[i]!.length} values of parameter ${n}, this node's model ${sizes[p]}`);
      return [offsets[p]!, arrays[i]!];
    }));
    pool.randomCalls = meta.randomCalls;
    link.assembled(meta.members, meta.seq);
    return meta.fit ?? undefined;
  } finally {
    clearInterval(again);
  }
}

/** `p`, or the join timeout naming the ranks still missing; a link failure rejects it too. */
async function within<T>(p: Promise<T>, link: ClusterLink, ms: number, missing: () => number[]): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(clusterErrors.joinTimeout(ms, missing())), ms)));
  const failed = new Promise<never>((_, reject) => {
    const poll = setInterval(() => link.failure && (clearInterval(poll), reject(link.failure)), 100);
    void p.finally(() => clearInterval(poll)).catch(() => undefined);
  });
  try {
    return await Promise.race([p, timeout, failed]);
  } finally {
    clearTimeout(timer);
  }
}

/** JSON metadata, padded to 4 bytes, then float32 arrays back to back. */
function pack(meta: WelcomeMeta, arrays: Float32Array[]): Uint8Array {
  const head = json(meta);
  const pad = (4 - ((4 + head.length) % 4)) % 4;
  const start = 4 + head.length + pad;
  const out = new Uint8Array(start + arrays.reduce((n, a) => n + a.byteLength, 0));
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  let at = start;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  return out;
}

function unpack(body: Uint8Array): { meta: WelcomeMeta; arrays: Float32Array[] } {
  const n = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true);
  const meta = parse<WelcomeMeta>(body.subarray(4, 4 + n));
  let at = 4 + n + ((4 - ((4 + n) % 4)) % 4);
  const arrays = meta.sizes.map((len) => {
    const a = new Float32Array(body.slice(at, at + 4 * len).buffer);
    at += 4 * len;
    return a;
  });
  if (at !== body.length) throw clusterErrors.protocol(`the starting state holds ${body.length} bytes, its header describes ${at}`);
  return { meta, arrays };
}

/**
 * One node's link to the others: a NATS connection, the run's subjects, the arrival checks, the
 * mailbox that steps wait on, and failure detection. Failure detection is NATS's own: heartbeat
 * messages on a subject with a timeout (a node that stops publishing is lost), plus the client's
 * PING/PONG with the server (a connection that breaks or goes silent closes, and that is the same as
 * losing every node). Nothing else decides that a node is gone.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Msg, type NatsConnection } from 'nats';
import type { GradPoolError } from '../errors.js';
import { clusterErrors } from './errors.js';
import type { ResolvedCluster } from './options.js';
import { Assembly, decode, encode, KIND, type Header, type Kind } from './wire.js';

/** How long a goodbye may take to flush before the connection is closed anyway. */
const CLOSE_GRACE_MS = 2000;

/** Messages dropped on arrival, by reason; none of them is ever summed. See `pool.stats().cluster`. */
export interface DroppedCounts {
  /** Carried another run id. */
  otherRun: number;
  /** Carried a step this node is past (or one no live run could be at yet). */
  outOfStep: number;
  /** Came from a process that is not the member holding that rank (e.g. a restarted node). */
  unknownSender: number;
  /** Failed the header or part checks. */
  malformed: number;
}

/** Traffic of the last step exchange (see docs/multi-node.md). */
export interface StepTraffic {
  step: number;
  sentBytes: number;
  receivedBytes: number;
  /** From this node's chunks being done to the step's outcome being in hand (rank 0: to its outcome sent). */
  commMs: number;
}

export interface ClusterStats {
  rank: number;
  nodes: number;
  runId: string;
  sentBytes: number;
  receivedBytes: number;
  dropped: DroppedCounts;
  lastStep: StepTraffic | null;
}

interface Waiter {
  resolve: (body: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/** Kinds a step exchange sends; they must carry the step in progress or the next one. */
const STEP_BOUND: ReadonlySet<Kind> = new Set([KIND.fold, KIND.outcome]);

export class ClusterLink {
  /** A random id of this process: heartbeats and steps from another process claiming a member's rank are not the member's. */
  readonly incarnation = randomBytes(4).readUInt32LE(0) || 1;
  /** Each rank's member incarnation, once the run has assembled. */
  members: number[] | null = null;
  /** Steps exchanged so far: the exchange in progress carries `seq + 1`. */
  seq = 0;
  /** Why the run cannot go on (a lost node or connection); every wait rejects with it. */
  failure: GradPoolError | null = null;
  /** Rank 0 answers hellos with this (set by join.ts). */
  onHello: ((h: Header, body: Uint8Array) => void) | null = null;
  readonly dropped: DroppedCounts = { otherRun: 0, outOfStep: 0, unknownSender: 0, malformed: 0 };
  sentBytes = 0;
  receivedBytes = 0;
  lastStep: StepTraffic | null = null;

  private readonly mail = new Map<string, Uint8Array>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly partial = new Map<string, Assembly>();
  private lastSeen: number[] = [];
  private timers: NodeJS.Timeout[] = [];
  private closing = false;

  private constructor(
    readonly o: ResolvedCluster,
    private readonly nc: NatsConnection,
  ) {}

  /** Connects and subscribes; rejects with `ERR_CLUSTER_UNREACHABLE` naming the URL. */
  static async connect(o: ResolvedCluster): Promise<ClusterLink> {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: o.nats, name: `gradpool-${o.runId}-${o.rank}`, reconnect: false, noEcho: true, pingInterval: o.heartbeatMs, maxPingOut: Math.max(2, Math.ceil(o.heartbeatTimeoutMs / o.heartbeatMs)), timeout: Math.min(20_000, o.joinTimeoutMs) });
    } catch (e) {
      throw clusterErrors.unreachable(o.nats, e);
    }
    const link = new ClusterLink(o, nc);
    const onMsg = (_: unknown, m: Msg) => link.arrive(m.data);
    for (const subject of [link.to(o.rank), link.all, link.heartbeats]) nc.subscribe(subject, { callback: onMsg });
    await nc.flush();
    void nc.closed().then((e) => link.closing || link.fail(clusterErrors.nodeLost(null, `lost the connection to NATS at ${o.nats}${e ? ` (${e.message})` : ''}`)));
    link.timers.push(setInterval(() => link.beat(), o.heartbeatMs));
    return link;
  }

  private subject(tail: string): string {
    return `gradpool.${this.o.runId}.${tail}`;
  }
  to(rank: number): string {
    return this.subject(`to.${rank}`);
  }
  get all(): string {
    return this.subject('all');
  }
  get heartbeats(): string {
    return this.subject('hb');
  }

  /** Publishes `payload` as numbered parts; returns the bytes sent. */
  send(subject: string, kind: Kind, step: number, payload: Uint8Array): number {
    if (this.failure) throw this.failure;
    const header = { kind, from: this.o.rank, step, incarnation: this.incarnation, runId: this.o.runId };
    let bytes = 0;
    for (const m of encode(header, payload, this.nc.info?.max_payload ?? 2 ** 20)) {
      this.nc.publish(subject, m);
      bytes += m.length;
    }
    this.sentBytes += bytes;
    return bytes;
  }

  /** The payload of `kind` (for step-bound kinds: of `step` from `from`), when it has arrived in full. */
  receive(kind: Kind, step = 0, from = 0): Promise<Uint8Array> {
    const key = keyOf(kind, step, from);
    const ready = this.mail.get(key);
    if (ready) {
      this.mail.delete(key);
      return Promise.resolve(ready);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.set(key, { resolve, reject }));
  }

  /** The run has assembled: from now on liveness is checked against these members. */
  assembled(members: number[], seq: number): void {
    this.members = members;
    this.seq = seq;
    const now = performance.now();
    this.lastSeen = members.map(() => now);
    this.timers.push(setInterval(() => this.check(), Math.max(50, Math.floor(this.o.heartbeatMs / 2))));
  }

  /** Fails every wait, now and later, with `e` (the first failure wins). */
  fail(e: GradPoolError): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.waiters.values()) w.reject(e);
    this.waiters.clear();
  }

  stats(): ClusterStats {
    return { rank: this.o.rank, nodes: this.o.nodes, runId: this.o.runId, sentBytes: this.sentBytes, receivedBytes: this.receivedBytes, dropped: { ...this.dropped }, lastStep: this.lastStep && { ...this.lastStep } };
  }

  /** Says goodbye (so the others do not wait out a heartbeat timeout for a node that finished) and disconnects. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.closing) return;
    this.closing = true;
    try {
      if (this.nc.isClosed()) return;
      if (this.failure) {
        // A failed link may be cut off from the server: draining would wait for a flush that never
        // comes (and with nothing else pending, Node would then exit with code 0 mid-shutdown).
        await this.nc.close();
        return;
      }
      this.send(this.all, KIND.bye, this.seq, new Uint8Array(0));
      let timer: NodeJS.Timeout | undefined;
      const bounded = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
      await Promise.race([this.nc.drain(), bounded]);
      clearTimeout(timer);
      if (!this.nc.isClosed()) await this.nc.close();
    } catch {
      // Already gone: nothing to say goodbye on.
    }
  }

  private beat(): void {
    if (this.failure || this.closing || this.nc.isClosed()) return;
    this.send(this.heartbeats, KIND.heartbeat, this.seq, new Uint8Array(0));
  }

  private check(): void {
    if (this.failure || this.closing || !this.members) return;
    const now = performance.now();
    this.lastSeen.forEach((t, r) => {
      if (r !== this.o.rank && now - t > this.o.heartbeatTimeoutMs) this.fail(clusterErrors.nodeLost(r, `no heartbeat for ${this.o.heartbeatTimeoutMs} ms`));
    });
  }

  /** Every message goes through here: checked, dropped and counted, or assembled and delivered. */
  private arrive(data: Uint8Array): void {
    this.receivedBytes += data.length;
    const d = decode(data);
    if (typeof d === 'string') return void this.dropped.malformed++;
    const { header: h, body } = d;
    if (h.runId !== this.o.runId) return void this.dropped.otherRun++;
    if (h.from >= this.o.nodes) return void this.dropped.unknownSender++;
    // Heartbeats before the run assembles, and rendezvous answers meant for a joining process once
    // this one is in, are ordinary traffic that is simply not for us.
    if (!this.members && h.kind === KIND.heartbeat) return;
    if (this.members && (h.kind === KIND.welcome || h.kind === KIND.refuse)) return;
    const member = this.members?.[h.from];
    // Before the run assembles only the rendezvous speaks; after it, only the members.
    if (this.members ? h.incarnation !== member && h.kind !== KIND.hello : h.kind !== KIND.hello && h.kind !== KIND.welcome && h.kind !== KIND.refuse) return void this.dropped.unknownSender++;
    if (STEP_BOUND.has(h.kind) && (h.step <= this.seq || h.step > this.seq + 2)) return void this.dropped.outOfStep++;
    if (h.kind === KIND.heartbeat) return void (this.lastSeen[h.from] = performance.now());
    if (h.kind === KIND.bye) return void (h.from !== this.o.rank && this.fail(clusterErrors.nodeLost(h.from, 'it left the run')));
    const key = keyOf(h.kind, h.step, h.from) + `:${h.incarnation}`;
    let a = this.partial.get(key);
    if (!a) this.partial.set(key, (a = new Assembly(h)));
    const done = a.add(h, body);
    if (done === null) return;
    this.partial.delete(key);
    if (typeof done === 'string') return void this.dropped.malformed++;
    if (h.kind === KIND.hello) return this.onHello?.(h, done);
    this.deliver(keyOf(h.kind, h.step, h.from), done);
  }

  private deliver(key: string, body: Uint8Array): void {
    const w = this.waiters.get(key);
    if (w) {
      this.waiters.delete(key);
      w.resolve(body);
    } else this.mail.set(key, body);
  }
}

/** Mailbox key: step-bound kinds by step and sender, the rendezvous kinds by kind alone. */
function keyOf(kind: Kind, step: number, from: number): string {
  return STEP_BOUND.has(kind) ? `${kind}:${step}:${from}` : `${kind}`;
}

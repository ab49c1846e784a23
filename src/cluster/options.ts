/**
 * The `cluster` option of `GradPool.create`: which of N nodes this pool is, where the NATS server is,
 * and the run it belongs to. Validated here with errors that name the field.
 */
import { errors } from '../errors.js';
import { checkOptionsObject, isPosInt } from '../validate.js';

/** One node of a multi-node run (see docs/multi-node.md). */
export interface ClusterOptions {
  /** Nodes in the run (each a pool of `threads` local workers). */
  nodes: number;
  /** This node's rank, 0 … nodes-1. Rank 0 broadcasts the starting state and is the one to write output. */
  rank: number;
  /** The NATS server, e.g. `nats://nats:4222`. */
  nats: string;
  /** Names the run: every message carries it, and a message of another run is dropped. NATS subject characters only: `[A-Za-z0-9_-]`. */
  runId: string;
  /** How often this node publishes a heartbeat. Default 1000 ms. */
  heartbeatMs?: number;
  /** A node not heard from for this long is lost: the step waiting on it fails with `ERR_CLUSTER_NODE_LOST`. Default 5000 ms. */
  heartbeatTimeoutMs?: number;
  /** How long the nodes wait for each other at the start. Default 300000 ms (pods can take minutes to be scheduled). */
  joinTimeoutMs?: number;
}

export type ResolvedCluster = Required<ClusterOptions>;

const KNOWN = ['nodes', 'rank', 'nats', 'runId', 'heartbeatMs', 'heartbeatTimeoutMs', 'joinTimeoutMs'];
/** A NATS subject token (no dots, spaces or wildcards), at most 64 characters. */
export const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Ranks travel as 16-bit fields in the message header. */
export const MAX_NODES = 65535;

function ms(field: string, v: unknown, fallback: number): number {
  const x = v ?? fallback;
  if (!isPosInt(x) || x > 2 ** 31 - 1) throw errors.invalidOption(`cluster.${field}`, 'a whole number of milliseconds in [1, 2147483647]', x);
  return x;
}

/** Validates `cluster` and fills in the defaults. */
export function resolveCluster(c: unknown): ResolvedCluster {
  checkOptionsObject(c, KNOWN, 'an object { nodes, rank, nats, runId }', 'cluster');
  const o = c as ClusterOptions;
  if (!isPosInt(o.nodes) || o.nodes > MAX_NODES) throw errors.invalidOption('cluster.nodes', `a positive integer up to ${MAX_NODES}`, o.nodes);
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.nodes) throw errors.invalidOption('cluster.rank', `an integer in [0, ${o.nodes - 1}]`, o.rank);
  if (typeof o.nats !== 'string' || !/^(nats|tls|ws|wss):\/\/[^\s]+$|^[^\s:/]+:\d+$/.test(o.nats)) throw errors.invalidOption('cluster.nats', 'a NATS URL such as nats://nats:4222', o.nats);
  if (typeof o.runId !== 'string' || !RUN_ID.test(o.runId)) throw errors.invalidOption('cluster.runId', '1-64 characters of [A-Za-z0-9_-]', o.runId);
  const heartbeatMs = ms('heartbeatMs', o.heartbeatMs, 1000);
  const heartbeatTimeoutMs = ms('heartbeatTimeoutMs', o.heartbeatTimeoutMs, 5000);
  if (heartbeatTimeoutMs < 2 * heartbeatMs) throw errors.invalidOption('cluster.heartbeatTimeoutMs', `at least twice heartbeatMs (${2 * heartbeatMs})`, heartbeatTimeoutMs);
  return { nodes: o.nodes, rank: o.rank, nats: o.nats, runId: o.runId, heartbeatMs, heartbeatTimeoutMs, joinTimeoutMs: ms('joinTimeoutMs', o.joinTimeoutMs, 300_000) };
}

/**
 * The contiguous range of chunks [lo, hi) of a C-chunk batch that the node at `position` of the fold's
 * chain computes: the global chunk plan cut into N nearly equal runs, in chain order, so
 * concatenating the runs in chain order gives chunk order.
 */
export function chunkRange(C: number, nodes: number, position: number): [number, number] {
  return [Math.floor((position * C) / nodes), Math.floor(((position + 1) * C) / nodes)];
}

/**
 * Where `rank` stands in the fold's chain: ranks 1, 2, …, N-1, then 0. Rank 0 runs the update, so it
 * is last: the fold's total ends on it with no extra hop, and it holds the batch's last chunks.
 *
 * @example
 * chainPosition(3, 0); // 2: rank 0 adds the last run of chunks
 * chainPosition(3, 1); // 0: rank 1 starts the fold
 */
export function chainPosition(nodes: number, rank: number): number {
  return (rank + nodes - 1) % nodes;
}

/** The rank at `position` of the chain (the inverse of {@link chainPosition}). */
export function rankAt(nodes: number, position: number): number {
  return (position + 1) % nodes;
}

/**
 * The cluster's errors, in the uniform style of src/errors.ts (what, then expected and got). Their
 * codes map to the CLI's exit codes: unreachable and refused are usage-like (2), a lost node is
 * temporary (75: restart every node with --resume).
 */
import { GradPoolError } from '../errors.js';

export const clusterErrors = {
  /** NATS could not be reached when the pool was created. */
  unreachable: (url: string, cause: unknown) =>
    new GradPoolError('ERR_CLUSTER_UNREACHABLE', `cluster.nats: cannot connect to ${url} (${(cause as Error)?.message ?? String(cause)})`, { cause }),
  /** A node stopped heartbeating, left, or the connection to NATS broke: the run cannot go on. */
  nodeLost: (rank: number | null, why: string) =>
    new GradPoolError('ERR_CLUSTER_NODE_LOST', rank === null ? `cluster: ${why}` : `cluster: lost rank ${rank} (${why})`),
  /** Rank 0 refused this node: its step differs from the run's, or its rank is taken. */
  refused: (why: string) => new GradPoolError('ERR_CLUSTER_REFUSED', `cluster: refused to join: ${why}`),
  /** The other nodes did not all arrive in time. */
  joinTimeout: (ms: number, missing: number[]) =>
    new GradPoolError('ERR_CLUSTER_NODE_LOST', `cluster: the run did not assemble within joinTimeoutMs (${ms} ms); missing rank${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`),
  /** A message arrived complete but does not fit what it claims to be (a bug or a foreign sender). */
  protocol: (what: string) => new GradPoolError('ERR_CLUSTER_PROTOCOL', `cluster: ${what}`),
} as const;

/**
 * `gradpool train`'s multi-node flags and their environment fallbacks (names fixed by the README):
 * `--nodes` / GRADPOOL_NODES, `--node-rank` / GRADPOOL_NODE_RANK (else JOB_COMPLETION_INDEX, which a
 * Kubernetes Indexed Job sets), `--nats` / GRADPOOL_NATS_URL, `--run-id` / GRADPOOL_RUN_ID (else a
 * hash of the job). GRADPOOL_HEARTBEAT_TIMEOUT_MS sets the heartbeat timeout (default 5000 ms).
 */
import { UsageError } from '../cli/exit.js';
import { resolveCluster, type ClusterOptions } from './options.js';
import { GradPoolError } from '../errors.js';

/** The flags as typed (strings; absent ones undefined). */
export interface ClusterFlags {
  nodes?: string | undefined;
  nodeRank?: string | undefined;
  nats?: string | undefined;
  runId?: string | undefined;
}

/** Exit code of a node that stops because another was lost (EX_TEMPFAIL: restart every node with --resume). */
export const EXIT_NODE_LOST = 75;

function int(flag: string, env: string | undefined, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag}${env ? ` (or ${env})` : ''}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/**
 * The cluster option for this node, or null for a single-node run (no --nodes, or 1 without --nats).
 * `jobHash` names the run when no run id is given, so every node of one job agrees without being told.
 */
export function clusterFromCli(flags: ClusterFlags, env: NodeJS.ProcessEnv, jobHash: string): ClusterOptions | null {
  const nodes = int('--nodes', 'GRADPOOL_NODES', flags.nodes ?? env.GRADPOOL_NODES) ?? 1;
  const rankText = flags.nodeRank ?? env.GRADPOOL_NODE_RANK ?? env.JOB_COMPLETION_INDEX;
  const rank = int('--node-rank', 'GRADPOOL_NODE_RANK or JOB_COMPLETION_INDEX', rankText) ?? 0;
  const nats = flags.nats ?? env.GRADPOOL_NATS_URL;
  if (nodes === 1 && nats === undefined) {
    if (rank !== 0) throw new UsageError(`--node-rank: expected 0 for a single-node run (--nodes 1), got ${rank}`);
    return null;
  }
  if (nats === undefined) throw new UsageError(`--nats: expected the NATS server's URL (e.g. nats://nats:4222) for --nodes ${nodes}; or set GRADPOOL_NATS_URL`);
  const timeout = int('GRADPOOL_HEARTBEAT_TIMEOUT_MS', undefined, env.GRADPOOL_HEARTBEAT_TIMEOUT_MS);
  const o: ClusterOptions = { nodes, rank, nats, runId: flags.runId ?? env.GRADPOOL_RUN_ID ?? jobHash.slice(0, 16), ...(timeout !== undefined ? { heartbeatTimeoutMs: timeout, heartbeatMs: Math.max(1, Math.min(1000, Math.floor(timeout / 5))) } : {}) };
  try {
    resolveCluster(o);
  } catch (e) {
    // The library names its option fields; on the command line the flags are what the user typed.
    if (e instanceof GradPoolError) throw new UsageError(e.message.replace(/^cluster\.nodes/, '--nodes').replace(/^cluster\.rank/, '--node-rank').replace(/^cluster\.nats/, '--nats').replace(/^cluster\.runId/, '--run-id'));
    throw e;
  }
  return o;
}

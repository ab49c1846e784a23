/**
 * The fields of the `ctl` region (protocol.ts's REGION.ctl), the Int32 counters through which a
 * call's workers share out its work: chunks, update slices, the fused update's barrier, the abort
 * flag and how far the inputs are staged. The coordinator resets them before each work-claiming
 * phase (dispatch.ts); workers/claim.ts uses them.
 */

/** Index of the fields in the `ctl` Int32 region. */
export const CTL = {
  /** Next unclaimed chunk or update slice (Atomics.add). */
  CLAIM: 0,
  /** Set to 1 when any worker fails, so the others stop claiming. */
  ABORT: 1,
  /** A step's update run in its chunk task (ChunkTask.update): workers done with their chunks. */
  ARRIVED: 2,
  /** Set to 1 when a chunk of that step had a non-finite sample: the workers skip the update. */
  BAD: 3,
  /** Next unclaimed update slice of that step. */
  UPDATE_CLAIM: 4,
  /**
   * Chunks whose inputs the coordinator has copied in so far (ChunkTask.staging): it posts the tasks
   * first and stages after, chunk by chunk, so the threads wake while it copies (src/staging.ts).
   */
  STAGED: 5,
  LENGTH: 8,
} as const;

/**
 * Tells the workers of a call to stop claiming (one failed, or its task was lost), waking any
 * waiting at a fused update's barrier or for a chunk's inputs (workers/claim.ts).
 */
export function abortClaims(ctl: Int32Array): void {
  Atomics.store(ctl, CTL.ABORT, 1);
  Atomics.notify(ctl, CTL.ARRIVED);
  Atomics.notify(ctl, CTL.STAGED);
}

/**
 * The few tfjs engine internals the vectorized executor touches (tfjs 4.22), typed in one place so a
 * tfjs upgrade has one file to check.
 */
import * as tf from '@tensorflow/tfjs';

/** One recorded kernel call of a gradient's tape. */
export interface TapeNode {
  kernelName: string;
  inputs: Record<string, tf.Tensor | undefined>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
}

/** The engine fields we swap around a vectorized run; tfjs declares them private, so typed here. */
interface EngineInternals {
  backendName: string | null;
  backendInstance: tf.KernelBackend | null;
  pendingBackendInit: unknown;
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: tf.KernelBackend): tf.Tensor;
  removeDataId(dataId: tf.DataId, backend: tf.KernelBackend): void;
  state: { gradientDepth: number; activeTape: TapeNode[] | null };
}

export const engine = () => tf.engine() as unknown as EngineInternals;

/**
 * When the function passed to tf.grads throws, tfjs leaves its tape behind with the tensors it kept for
 * the backward pass (they outlive every tidy). Disposes them, as a completed backward pass would.
 */
export function disposeAbandonedTape(): void {
  const st = engine().state;
  if (st.gradientDepth !== 0 || !st.activeTape) return;
  for (const node of st.activeTape) for (const t of node.saved ?? []) t.dispose();
  st.activeTape = null;
}


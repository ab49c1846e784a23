/**
 * Why a model cannot be differentiated at all — with or without gradpool. tfjs's own message for a
 * kernel without a registered gradient ("Cannot compute gradient: gradient function not found for
 * Greater.") names the kernel but not where the model used it. Pool creation runs the model once
 * unvectorized (see describe.ts), and when that fails this way, the model is re-run with the tape
 * recorded so the message can also say which op consumed the kernel's output (typically `tf.where`'s
 * condition computed from the parameters).
 */
import * as tf from '@tensorflow/tfjs';
import { lossOf } from './executors/loss.js';
import type { ChunkJob } from './executors/types.js';
import { disposeAbandonedTape, engine } from '../src/shared/batching/engine.js';

const MISSING = /gradient function not found for (\w+)/;

/** Public op names of the kernels a missing gradient is usually found next to (else tf.<camelCase>). */
const OP_OF: Record<string, string> = { Select: 'tf.where', Pack: 'tf.stack', GatherV2: 'tf.gather', RealDiv: 'tf.div', Multiply: 'tf.mul', Sub: 'tf.sub' };
const opOf = (kernel: string) => OP_OF[kernel] ?? `tf.${kernel[0]!.toLowerCase()}${kernel.slice(1)}`;

/** What the tape says about one kernel call: its input names by tensor id, and its output ids. */
interface Recorded {
  kernel: string;
  inputs: [string, number][];
  outputs: number[];
}

/** The tape of one sample's loss of the job's first sample, as kernel names and tensor ids. */
function recordTape(job: ChunkJob): Recorded[] {
  const { model } = job;
  let nodes: Recorded[] = [];
  try {
    tf.tidy(() => {
      const x = tf.tensor(job.x.slice(0, model.inputSize), model.inputShape as number[]);
      const y = tf.tensor(job.y!.slice(0, model.targetSize), model.targetShape as number[]);
      tf.grads((...ps: tf.Tensor[]) => {
        const loss = lossOf(model, ps, x, y);
        // The engine's tape of this gradient: readable until tf.grads returns (or throws).
        const tape = engine().state.activeTape ?? [];
        nodes = tape.map((n) => ({
          kernel: n.kernelName,
          inputs: Object.entries(n.inputs).flatMap(([name, t]) => (t ? [[name, t.id] as [string, number]] : [])),
          outputs: n.outputs.map((t) => t.id),
        }));
        return loss;
      })(job.params);
    });
  } catch {
    // Expected: this run fails the way the first one did; only the recorded tape is wanted.
    disposeAbandonedTape();
  }
  return nodes;
}

/** Kernels that only move or retype a value: a use through them is a use of the value itself. */
const PASS_THROUGH = new Set(['Identity', 'BroadcastTo', 'Reshape', 'Cast', 'ExpandDims', 'Squeeze']);

/** "tf.where's condition" for each use of `kernel`'s outputs on the tape (through pass-throughs), deduplicated. */
function usesOf(kernel: string, tape: Recorded[]): string[] {
  const uses = new Set<string>();
  const seen = new Set<number>();
  const follow = (ids: number[]) => {
    const fresh = new Set(ids.filter((id) => !seen.has(id)));
    fresh.forEach((id) => seen.add(id));
    for (const n of tape)
      for (const [name, id] of n.inputs) {
        if (!fresh.has(id)) continue;
        // Nodes named after an op scope ('where__op') are tfjs's kernel-less copies inside that op.
        if (PASS_THROUGH.has(n.kernel) || n.kernel.endsWith('__op')) follow(n.outputs);
        else uses.add(`${opOf(n.kernel)}'s ${name}`);
      }
  };
  follow(tape.filter((n) => n.kernel === kernel).flatMap((n) => n.outputs));
  return [...uses];
}

/**
 * When the unvectorized gradient of the job's loss failed with `error` because tfjs has no gradient
 * for a kernel, the message to give the user instead (naming the op and its use); else null.
 */
export function explainMissingGradient(job: ChunkJob, error: unknown): string | null {
  const m = MISSING.exec((error as Error)?.message ?? '');
  if (!m) return null;
  const kernel = m[1]!;
  const uses = usesOf(kernel, recordTape(job));
  const where = uses.length > 0 ? `, used by ${uses.join(' and ')}` : '';
  return (
    `model: tfjs has no gradient for '${kernel}' (${opOf(kernel)}${where}), so the loss cannot be differentiated with ` +
    `respect to the parameters; plain tf.grads fails the same way. Compute it from values that do not depend on the ` +
    `parameters, or use ops that have gradients (e.g. tf.relu, tf.maximum, tf.step); predict and evaluate still work`
  );
}

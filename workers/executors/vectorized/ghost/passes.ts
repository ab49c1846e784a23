/**
 * The vectorized executor's two ghost-clipping passes: the DP gradient sum by ghost norms
 * (sum.ts does the arithmetic) and the creation probe's coverage question (coverage.ts reads the
 * answer off the tape). Both run the chunk in ghost mode, where a dense layer's weight gradient
 * stays lazy in its Gram form and an embedding's in its scatter form (forms.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelDef } from '../../../../src/model/define.js';
import type { VmapBackend } from '../../../../src/shared/batching/backend.js';
import { engine } from '../../../../src/shared/batching/engine.js';
import type { GhostCoverage, GhostForm } from '../../../../src/shared/ghost-coverage.js';
import type { ChunkJob } from '../../types.js';
import { exportedGrads, runBatched, valueAndGrads } from '../pass.js';
import { coverageOf, parameterUses } from './coverage.js';
import { exportedForm, exportedInfos, fromInfos } from './forms.js';
import type { Use } from './rules.js';
import { ghostClippedSum } from './sum.js';

/**
 * Per model, the form ghost clipping gets each parameter's gradient in (see ghostSum). Module-wide,
 * as replay.ts's trace cache is: a replayed run returns only the exports, so an executor created
 * after the recording must still know how to read them.
 */
const ghostLayout = new WeakMap<ModelDef, GhostForm[]>();

/**
 * DP by ghost norms: in ghost mode the lazy gradients' operands are exported instead of n
 * per-sample gradients, then norms, clip factors and the clipped sum come off them (sum.ts). Which
 * form each parameter comes out in is the model's, recorded per model for the replayed runs (which
 * return the same infos). Returns false when a loss or norm is not finite (ghostClippedSum).
 */
export function ghostSum(vm: VmapBackend, job: ChunkJob, losses: Float32Array, norms: Float32Array, row: Float64Array, clip: number): boolean {
  const { model, n } = job;
  let forms: GhostForm[] = [];
  let infos: tf.TensorInfo[] = [];
  vm.sumMode = vm.ghost = true;
  try {
    infos = exportedGrads('ghost', vm, job, losses, (ps) => ps, (g) => {
      const l = vm.takeGhost(g);
      forms.push(exportedForm(l));
      return l ? exportedInfos(l) : [vm.exportBatched(g, n)];
    });
    if (forms.length > 0) ghostLayout.set(model, forms);
    else forms = ghostLayout.get(model)!;
  } finally {
    vm.sumMode = vm.ghost = false;
  }
  try {
    return ghostClippedSum(vm, fromInfos(infos, forms), model.layout.sizes, model.layout.offsets, n, losses, norms, row, clip);
  } finally {
    for (const i of infos) vm.release(i.dataId);
  }
}

/**
 * Which ghost-norm rule each parameter gets and the form its gradient takes, answered on `job`'s
 * chunk: one ghost pass whose forward tape names the kernels using each parameter (coverage.ts).
 */
export function coverageByGhostPass(vm: VmapBackend, job: ChunkJob): GhostCoverage {
  const forms: GhostForm[] = [];
  const infos: tf.TensorInfo[] = [];
  let uses: Use[][] = [];
  const isKernel = (k: string) => tf.getKernel(k, vm.name) !== undefined;
  vm.sumMode = vm.ghost = true;
  try {
    runBatched(vm, job, () =>
      tf.tidy(() => {
        const onForward = (ps: tf.Tensor[]) => (uses = parameterUses(engine().state.activeTape ?? [], ps, isKernel));
        for (const g of valueAndGrads(vm, job, (ps) => ps, onForward).grads) {
          const l = vm.takeGhost(g);
          forms.push(exportedForm(l));
          if (l) infos.push(...exportedInfos(l));
        }
      }),
    );
  } finally {
    vm.sumMode = vm.ghost = false;
    for (const i of infos) vm.release(i.dataId);
  }
  return coverageOf(job.model.layout.names, uses, forms);
}

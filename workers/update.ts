import { CTL } from '../src/shared/ctl.js';
import { REGION, regionView, type UpdateTask } from '../src/shared/protocol.js';
import { updateSlice } from '../src/shared/update.js';
import { claim } from './claim.js';

let scratch = new Float64Array(0);

/**
 * Claims parameter slices until none are left and applies the update to each (a sharded optimizer).
 * An update task claims from the call's counter; an update fused into a chunk task from its own.
 */
export function runUpdate(task: Pick<UpdateTask, 'names' | 'plan' | 'sliceSize' | 'regions'>, counter: number = CTL.CLAIM): number {
  const { names, plan, sliceSize, regions } = task;
  const f32 = (name: string) => regionView(regions, { name, kind: 'f32' }).subarray(0, plan.P);
  const views = {
    partial: regionView(regions, REGION.partial),
    grad: regionView(regions, REGION.grad).subarray(0, plan.P),
    pIn: f32(names.pIn),
    pOut: f32(names.pOut),
    sIn: names.sIn.map(f32),
    sOut: names.sOut.map(f32),
  };
  if (scratch.length < sliceSize) scratch = new Float64Array(sliceSize);
  return claim(regionView(regions, REGION.ctl), Math.ceil(plan.P / sliceSize), (c) => updateSlice(plan, views, c * sliceSize, Math.min(plan.P, (c + 1) * sliceSize), scratch), counter);
}

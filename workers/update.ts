import { regionView } from '../src/arena.js';
import { CTL, type UpdateTask } from '../src/protocol.js';
import { updateSlice } from '../src/train/update.js';

let scratch = new Float64Array(0);

/** Claims parameter slices until none are left and applies the update to each (a sharded optimizer). */
export function runUpdate(task: UpdateTask): number {
  const ctl = regionView(task.regions.ctl, 'i32', 'ctl');
  const { names, plan, sliceSize } = task;
  const f32 = (n: string) => regionView(task.regions[n], 'f32', n).subarray(0, plan.P);
  const views = {
    partial: regionView(task.regions[names.partial], 'f64', names.partial),
    grad: f32(names.grad),
    pIn: f32(names.pIn),
    pOut: f32(names.pOut),
    sIn: names.sIn.map(f32),
    sOut: names.sOut.map(f32),
  };
  if (scratch.length < sliceSize) scratch = new Float64Array(sliceSize);
  const slices = Math.ceil(plan.P / sliceSize);
  let done = 0;
  for (;;) {
    if (Atomics.load(ctl, CTL.ABORT) !== 0) break;
    const c = Atomics.add(ctl, CTL.CLAIM, 1);
    if (c >= slices) break;
    updateSlice(plan, views, c * sliceSize, Math.min(plan.P, (c + 1) * sliceSize), scratch);
    done++;
  }
  return done;
}

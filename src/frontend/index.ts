/**
 * Function transforms for TensorFlow.js, torch.func's names and semantics: grad, valueAndGrad, vjp,
 * jvp, jacrev, jacfwd, hessian. They run in-process on the active tfjs backend and compose
 * (grad(grad(f)), jacrev(jacrev(f))). vmap is not here yet: it runs inside the pool's workers.
 */
export { grad, valueAndGrad } from './grad.js';
export type { GradOf } from './grad.js';
export { vjp, jvp } from './vjp.js';
export type { VjpOptions } from './vjp.js';
export { jacrev, jacfwd, hessian } from './jacobian.js';
export type { JacOf } from './jacobian.js';
export type { Argnums, TransformOptions } from './args.js';
export type { Tree } from '../shared/pytree.js';
export { vmap } from './vmap.js';
export type { VmapOptions, VmapRandomness } from './vmap.js';
export type { AxisSpec } from './axes.js';
